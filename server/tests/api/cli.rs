//! The `kassa` binary itself: commands, configuration errors, graceful shutdown.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{fresh_database, repo_root, Backend};
use crate::on_both_databases;

fn kassa(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run kassa")
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    assert_eq!(
        stderr.lines().count(),
        1,
        "expected one line, got:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_wrong_database_url_is_one_line_naming_the_setting() {
    let output = kassa(
        &["migrate"],
        &[("DATABASE_URL", "mysql://root:hunter2@localhost/shop")],
    );
    let error = one_line_error(&output);
    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(!error.contains("hunter2"), "password leaked: {error}");
}

#[test]
fn an_unreachable_database_is_one_line_naming_the_setting() {
    let output = kassa(
        &["migrate"],
        &[("DATABASE_URL", "postgres://kassa:hunter2@127.0.0.1:9/kassa")],
    );
    let error = one_line_error(&output);
    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(!error.contains("hunter2"), "password leaked: {error}");
}

#[test]
fn an_unwritable_data_directory_is_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let data_dir = file.join("data");
    let output = kassa(
        &["migrate"],
        &[("KASSA_DATA_DIR", data_dir.to_str().unwrap())],
    );
    let error = one_line_error(&output);
    assert!(error.contains("KASSA_DATA_DIR"), "{error}");
}

#[test]
fn a_bad_address_is_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = kassa(
        &["serve"],
        &[
            ("KASSA_ADDR", "not-an-address"),
            ("KASSA_DATA_DIR", dir.path().to_str().unwrap()),
        ],
    );
    let error = one_line_error(&output);
    assert!(error.starts_with("kassa: KASSA_ADDR="), "{error}");
}

async fn migrate_and_seed_demo_commands_work(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let env = [("DATABASE_URL", url.as_str())];

    let output = kassa(&["migrate"], &env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = kassa(&["migrate"], &env);
    assert!(
        output.status.success(),
        "migrate twice: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = kassa(&["seed-demo"], &env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("demo products"));

    // Seeding twice would duplicate the catalog: refused, and the catalog is unchanged.
    let output = kassa(&["seed-demo"], &env);
    let error = one_line_error(&output);
    assert!(error.contains("not empty"), "{error}");
    let db = app::db::Db::connect(&url).await.unwrap();
    let products = app::catalog::ssr::count_products(&db).await.unwrap();
    assert_eq!(products as usize, app::catalog::demo::demo_product_count());
}

on_both_databases!(migrate_and_seed_demo_commands_work);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_seeds_an_empty_database_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_kassa"))
        .env_clear()
        .env("KASSA_ADDR", &addr)
        .env("KASSA_DATA_DIR", dir.path())
        .env("KASSA_SITE_ROOT", repo_root().join("public"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let started = Instant::now();
    let html = loop {
        if let Ok(response) = client.get(format!("http://{addr}/")).send().await {
            break response.text().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        html.contains("Everyday Organic Tee"),
        "the demo catalog was not seeded"
    );
    assert!(
        dir.path().join("kassa.db").exists(),
        "the SQLite file lives in the data dir"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "server ignored SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}

fn create_admin(dir: &std::path::Path, email: &str, password: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(["create-admin", "--email", email])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KASSA_DATA_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kassa");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn create_admin_reads_the_password_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let made = create_admin(dir.path(), "owner@shop.test", "a long enough password");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        String::from_utf8_lossy(&made.stderr).contains("created the owner account owner@shop.test")
    );
    let again = create_admin(dir.path(), "Owner@Shop.test", "a long enough password");
    assert!(one_line_error(&again).contains("already exists"));
    let short = create_admin(dir.path(), "other@shop.test", "short");
    assert!(one_line_error(&short).contains("at least 12 characters"));
}
