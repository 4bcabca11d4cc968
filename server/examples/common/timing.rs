//! What the admin benchmarks print for each scenario: p50 and p99 of its timings.

use std::time::Duration;

/// The `q` quantile (0 < q ≤ 1) of `times`, in milliseconds: the smallest time at least that
/// share of the runs took no longer than.
pub fn quantile_ms(times: &mut [Duration], q: f64) -> f64 {
    times.sort();
    let rank = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len());
    times[rank - 1].as_secs_f64() * 1000.0
}

/// Prints `name: N rows, p50 … ms, p99 … ms`.
pub fn report(name: &str, rows: usize, times: &mut [Duration]) {
    println!(
        "{name}: {rows} rows, p50 {:.2} ms, p99 {:.2} ms",
        quantile_ms(times, 0.5),
        quantile_ms(times, 0.99)
    );
}
