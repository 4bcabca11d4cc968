//! The site's built files (`/pkg/…`: the WASM, its JavaScript and the stylesheet) compressed
//! once, with brotli's best setting, when the server starts.
//!
//! The compression layer compresses each response as it goes, at a level cheap enough to do per
//! request; for the WASM that is 281 KB on the wire where brotli's best is 224 KB, and a
//! quarter-megabyte compressed again for every new visitor. These files are named by their
//! content (release builds), so they are compressed once and kept for as long as the process
//! runs. Until that is done, and for anything else, the compression layer answers as before.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::Response,
};

use crate::http::accepts_encoding;

/// Brotli at its best quality and a window up to the largest (see [`window_for`]): slow to make,
/// smallest to send, as fast to decompress.
const QUALITY: u32 = 11;
const WINDOW: u32 = 22;

#[derive(Clone, Default)]
pub struct CompressedAssets {
    /// By request path (`/pkg/kassa.<hash>.wasm`).
    files: Arc<RwLock<HashMap<String, Compressed>>>,
}

struct Compressed {
    brotli: Bytes,
    content_type: HeaderValue,
}

impl CompressedAssets {
    /// Compresses the content-named files of `site_root/pkg_dir` on a blocking thread; each is
    /// served compressed as soon as it is ready.
    pub fn spawn(site_root: &str, pkg_dir: &str) -> CompressedAssets {
        let assets = CompressedAssets::default();
        let dir = Path::new(site_root).join(pkg_dir);
        let prefix = format!("/{pkg_dir}/");
        let filling = assets.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(content_type) = content_type(&name) else {
                    continue;
                };
                if !crate::http::is_hashed_asset(&name) {
                    // Rebuilt in place during development: compressing it once would go stale.
                    continue;
                }
                let Ok(bytes) = std::fs::read(entry.path()) else {
                    continue;
                };
                let brotli = compress(&bytes);
                tracing::debug!(
                    name,
                    from = bytes.len(),
                    to = brotli.len(),
                    "asset compressed"
                );
                filling
                    .files
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(
                        format!("{prefix}{name}"),
                        Compressed {
                            brotli: brotli.into(),
                            content_type: HeaderValue::from_static(content_type),
                        },
                    );
            }
            // Brotli's best setting works in tens of megabytes, freed when it is done but kept
            // by this thread's heap in the allocator: an idle server held 140 MB instead of 50.
            // SAFETY: mi_collect takes no pointers; it only gives free memory back to the system.
            unsafe { libmimalloc_sys::mi_collect(true) };
        });
        assets
    }

    fn brotli_of(&self, path: &str) -> Option<(Bytes, HeaderValue)> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files
            .get(path)
            .map(|file| (file.brotli.clone(), file.content_type.clone()))
    }
}

fn content_type(name: &str) -> Option<&'static str> {
    let extension = name.rsplit('.').next()?;
    Some(match extension {
        "wasm" => "application/wasm",
        "js" => "text/javascript",
        "css" => "text/css",
        _ => return None,
    })
}

/// The smallest window that holds the whole file (at most [`WINDOW`]): a larger one finds
/// nothing more to refer back to, and brotli's memory grows with it.
fn window_for(len: usize) -> u32 {
    (usize::BITS - len.saturating_sub(1).leading_zeros()).clamp(16, WINDOW)
}

fn compress(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, QUALITY, window_for(bytes.len()));
        // Writing to memory cannot fail.
        let _ = std::io::Write::write_all(&mut writer, bytes);
    }
    out
}

/// Answers a GET of a compressed asset from memory, to a client that accepts brotli; anything
/// else goes on to the files.
pub async fn serve_compressed(
    State(assets): State<CompressedAssets>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET || !accepts_encoding(request.headers(), "br") {
        return next.run(request).await;
    }
    let Some((body, content_type)) = assets.brotli_of(request.uri().path()) else {
        return next.run(request).await;
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_the_whole_file_up_to_the_largest() {
        assert_eq!(window_for(0), 16);
        assert_eq!(window_for(10_000), 16);
        assert_eq!(window_for(65_537), 17);
        assert_eq!(window_for(933_900), 20, "a WASM of 0.9 MB");
        assert_eq!(window_for(1 << 20), 20);
        assert_eq!(window_for(50 << 20), WINDOW);
    }

    #[test]
    fn brotli_round_trips_and_shrinks() {
        let text = "fn main() { println!(\"hello\"); }\n".repeat(200);
        let packed = compress(text.as_bytes());
        assert!(packed.len() < text.len() / 10, "{} bytes", packed.len());
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut packed.as_slice(), &mut unpacked).unwrap();
        assert_eq!(unpacked, text.as_bytes());
    }

    #[tokio::test]
    async fn a_hashed_asset_is_served_compressed_to_browsers_that_accept_brotli() {
        use axum::{middleware, routing::get, Router};
        use tower::ServiceExt;

        let site = std::env::temp_dir().join(format!("kassa-assets-{}", std::process::id()));
        let pkg = site.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        let wasm = b"\0asm-not-really-but-bytes-all-the-same".repeat(100);
        std::fs::write(pkg.join("kassa.Xt6g4NhliO7sg4wtpiGpGQ.wasm"), &wasm).unwrap();
        // Unhashed: rebuilt in place during development, so left to the compression layer.
        std::fs::write(pkg.join("kassa.wasm"), &wasm).unwrap();

        let assets = CompressedAssets::spawn(site.to_str().unwrap(), "pkg");
        let app = Router::new()
            .fallback(get(|| async { "from the files" }))
            .layer(middleware::from_fn_with_state(
                assets.clone(),
                serve_compressed,
            ));
        let get = |path: &str, encoding: &str| {
            let request = Request::builder()
                .uri(path)
                .header(header::ACCEPT_ENCODING, encoding)
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(request)
        };
        let hashed = "/pkg/kassa.Xt6g4NhliO7sg4wtpiGpGQ.wasm";
        for _ in 0..500 {
            if assets.brotli_of(hashed).is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }

        let response = get(hashed, "gzip, deflate, br, zstd").await.unwrap();
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/wasm");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut body.as_ref(), &mut unpacked).unwrap();
        assert_eq!(unpacked, wasm);

        for (path, encoding) in [(hashed, "gzip"), ("/pkg/kassa.wasm", "br")] {
            let response = get(path, encoding).await.unwrap();
            assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            assert_eq!(body, "from the files", "{path} with {encoding}");
        }
        std::fs::remove_dir_all(&site).ok();
    }

    #[test]
    fn only_the_site_kinds_of_file_are_kept() {
        assert_eq!(content_type("kassa.abc.wasm"), Some("application/wasm"));
        assert_eq!(content_type("kassa.abc.css"), Some("text/css"));
        assert_eq!(content_type("kassa.d.abc.ts"), None);
    }
}
