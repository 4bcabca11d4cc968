//! CSV import and export: the round trip, all-or-nothing imports, pictures, and the CLI.

use std::process::Command;

use app::catalog::csv_io::{export_products, import_products, parse_products, ImportError};
use app::catalog::media::MediaStore;
use app::money::Currency;

use crate::helpers::{fresh_database, spawn_app, spawn_empty_app, Backend};
use crate::on_both_databases;

async fn export(db: &app::db::Db) -> String {
    let mut out = Vec::new();
    export_products(db, &mut out).await.expect("export");
    String::from_utf8(out).unwrap()
}

async fn import(
    app: &crate::helpers::TestApp,
    csv: &str,
    replace: bool,
) -> Result<usize, ImportError> {
    let dir = app._data_dir.path();
    let products =
        parse_products(csv.as_bytes(), dir, Currency::EUR).map_err(ImportError::Invalid)?;
    import_products(&app.db, products, &MediaStore::new(dir), replace, |_| {}).await
}

async fn product_count(db: &app::db::Db) -> i64 {
    app::catalog::ssr::count_products(db).await.unwrap()
}

async fn an_exported_catalog_imports_back_to_the_same_catalog(backend: Backend) {
    let source = spawn_app(backend).await;
    let first = export(&source.db).await;
    assert_eq!(first.lines().next().unwrap().split(',').count(), 30);

    let target = spawn_empty_app(backend).await;
    let count = import(&target, &first, false).await.expect("import");
    assert_eq!(count, app::catalog::demo::demo_product_count());
    let second = export(&target.db).await;
    assert_eq!(first, second, "export → import → export changes nothing");

    // And the storefront reads it the same.
    let (_, before) = source.json("/api/v1/products/ridge-fleece-hoodie").await;
    let (_, after) = target.json("/api/v1/products/ridge-fleece-hoodie").await;
    let strip_ids = |mut v: serde_json::Value| {
        for variant in v["variants"].as_array_mut().unwrap() {
            variant.as_object_mut().unwrap().remove("id");
        }
        v
    };
    assert_eq!(strip_ids(before), strip_ids(after));
    let (_, collection) = target.json("/api/v1/collections/sale").await;
    assert!(!collection["products"]["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

const HEADER: &str = "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty,Image Src\n";

async fn a_file_with_one_bad_line_imports_nothing(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let csv = format!(
        "{HEADER}\
         mug,Mug,Colour,Blue,MUG-B,12.50,3,\n\
         mug,,,Red,MUG-R,12.50,0,\n\
         cap,Cap,,,CAP-1,20,oops,\n\
         tee,Tee,,,TEE-1,15,5,\n"
    );
    match import(&app, &csv, false).await {
        Err(ImportError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(
                errors[0].to_string(),
                "line 4, column \"Variant Inventory Qty\": 'oops' is not a whole number of zero or more"
            );
        }
        other => panic!("expected line errors, got {other:?}"),
    }
    assert_eq!(product_count(&app.db).await, 0, "nothing is written");
}

async fn existing_handles_and_skus_are_refused_unless_replacing(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let csv = format!("{HEADER}mug,Mug,,,MUG-1,12,3,\n");
    import(&app, &csv, false).await.unwrap();

    let changed = format!("{HEADER}mug,Mug v2,,,MUG-1,14,3,\ncup,Cup,,,CUP-1,9,1,\n");
    match import(&app, &changed, false).await {
        Err(ImportError::Invalid(errors)) => {
            assert!(
                errors[0]
                    .to_string()
                    .contains("product 'mug' already exists"),
                "{errors:?}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        product_count(&app.db).await,
        1,
        "the cup was not written either"
    );

    // A SKU used by another product is refused even when replacing.
    let stolen = format!("{HEADER}cup,Cup,,,MUG-1,9,1,\n");
    assert!(matches!(
        import(&app, &stolen, true).await,
        Err(ImportError::Invalid(_))
    ));

    import(&app, &changed, true).await.expect("replace");
    let (_, mug) = app.json("/api/v1/products/mug").await;
    assert_eq!(mug["title"], "Mug v2");
    assert_eq!(mug["variants"][0]["price"]["amount"], 1400);
    assert_eq!(product_count(&app.db).await, 2);
}

async fn picture_files_are_resized_into_several_widths(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let picture = image::RgbImage::from_fn(1200, 800, |x, y| {
        image::Rgb([(x / 5) as u8, (y / 4) as u8, 120])
    });
    picture.save(app._data_dir.path().join("mug.png")).unwrap();
    let csv = format!("{HEADER}mug,Mug,,,MUG-1,12,3,mug.png\n");
    import(&app, &csv, false).await.expect("import");

    let (_, mug) = app.json("/api/v1/products/mug").await;
    let image = &mug["images"][0];
    assert_eq!(
        (image["width"].as_i64(), image["height"].as_i64()),
        (Some(1200), Some(800))
    );
    let srcset = image["srcset"].as_str().unwrap();
    for width in ["320w", "640w", "1024w", "1200w"] {
        assert!(srcset.contains(width), "{srcset}");
    }
    let url = image["url"].as_str().unwrap();
    let response = app.get(url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    let html = app.get("/products/mug").await.text().await.unwrap();
    assert!(
        html.contains("srcset=\""),
        "the product page offers the smaller copies"
    );
}

fn kassa(args: &[&str], database_url: &str, data_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("KASSA_DATA_DIR", data_dir)
        .output()
        .unwrap()
}

async fn the_cli_imports_and_exports_and_names_bad_lines(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{HEADER}mug,Mug,,,MUG-1,12.345,3,\nmug,,,,MUG-2,,3,\n"),
    )
    .unwrap();
    let output = kassa(&["import", bad.to_str().unwrap()], &url, dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2, column \"Variant Price\": '12.345' is not a price"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 3, column \"Variant Price\": every variant needs a price"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    let good = dir.path().join("good.csv");
    std::fs::write(&good, format!("{HEADER}mug,Mug,,,MUG-1,12.50,3,\n")).unwrap();
    let output = kassa(&["import", good.to_str().unwrap()], &url, dir.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 1 products"));

    let out = dir.path().join("out.csv");
    let output = kassa(&["export", out.to_str().unwrap()], &url, dir.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exported = std::fs::read_to_string(out).unwrap();
    assert!(exported.contains("mug,Mug,"), "{exported}");
    assert!(exported.contains(",MUG-1,"), "{exported}");
}

on_both_databases!(
    an_exported_catalog_imports_back_to_the_same_catalog,
    a_file_with_one_bad_line_imports_nothing,
    existing_handles_and_skus_are_refused_unless_replacing,
    picture_files_are_resized_into_several_widths,
    the_cli_imports_and_exports_and_names_bad_lines,
);
