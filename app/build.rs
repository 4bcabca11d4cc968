// `sqlx::migrate!` reads the migration folders when `app` compiles. Cargo compiles it again
// only when something it knows of changes, and without this it knows only the Rust files: a
// new migration file alone would leave a binary without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
