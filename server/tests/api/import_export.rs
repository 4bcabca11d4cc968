//! CSV import and export: the round trip, all-or-nothing imports, pictures, and the CLI.

use std::process::Command;

use app::catalog::csv_io::{
    check_import, export_products, import_batch, write_import, ImportError,
};
use app::catalog::media::MediaStore;
use app::money::Currency;

use crate::checkout::{checkout, count, ledger_of, order_body, stock_of};
use crate::helpers::{
    assert_cards_follow, differences, fresh_database, slugs_of, spawn_app, spawn_empty_app, Backend,
};
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
    let media = MediaStore::new(dir);
    let checked =
        check_import(&app.db, csv.as_bytes(), dir, Currency::EUR, &media, replace).await?;
    write_import(&app.db, csv.as_bytes(), &checked, |_| {}).await
}

async fn product_count(db: &app::db::Db) -> i64 {
    app::catalog::ssr::count_products(db).await.unwrap()
}

async fn an_exported_catalog_imports_back_to_the_same_catalog(backend: Backend) {
    let source = spawn_app(backend).await;
    let first = export(&source.db).await;
    assert_eq!(first.lines().next().unwrap().split(',').count(), 31);

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
                "line 4, column \"Variant Inventory Qty\": 'oops' is not a whole number from 0 to 1000000000"
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

    // Every width as WebP too, served as such and offered first in the pages.
    let webp_srcset = image["webp_srcset"].as_str().unwrap();
    assert_eq!(
        webp_srcset.matches(".webp ").count(),
        srcset.split(", ").count(),
        "{webp_srcset}"
    );
    for (jpeg, webp) in srcset.split(", ").zip(webp_srcset.split(", ")) {
        let (webp_url, width) = webp.split_once(' ').unwrap();
        assert_eq!(jpeg.split_once(' ').unwrap().1, width);
        let response = app.get(webp_url).await;
        assert_eq!(response.status(), 200, "{webp_url}");
        assert_eq!(response.headers()["content-type"], "image/webp");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[8..12], b"WEBP");
    }
    let source = format!(r#"<source type="image/webp" srcset="{webp_srcset}""#);
    let html = app.get("/products/mug").await.text().await.unwrap();
    assert!(
        html.contains("srcset=\""),
        "the product page offers the smaller copies"
    );
    assert!(html.contains(&source), "the product page offers WebP first");
    let html = app.get("/search?q=mug").await.text().await.unwrap();
    assert!(html.contains(&source), "so does a product card");

    // The export names both sets, and a catalog imported from it keeps them.
    let exported = export(&app.db).await;
    assert!(exported.contains(",Image Srcset WebP"), "{exported}");
    assert!(exported.contains(webp_srcset), "{exported}");
    let target = spawn_empty_app(backend).await;
    import(&target, &exported, false)
        .await
        .expect("import the export");
    let (_, copy) = target.json("/api/v1/products/mug").await;
    assert_eq!(copy["images"][0]["webp_srcset"], webp_srcset);
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
        stderr.contains("line 2, column \"Variant Price\": '12.345' is not an amount in EUR"),
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

/// `--replace` updates products in place: a variant that orders refer to keeps its id (or is
/// archived when the file drops it), so a pending reservation, the order lines and the stock
/// ledger survive, and the reservation can still be paid.
async fn replacing_a_product_keeps_its_orders_and_reservations(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let csv = format!(
        "{HEADER}mug,Mug,Colour,Blue,MUG-B,12,5,\n\
         mug,,,Red,MUG-R,12,3,\n"
    );
    import(&app, &csv, false).await.expect("import");
    let id_of = |sku: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM variants WHERE sku = $1")
                .bind(sku)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    let (blue, red) = (id_of("MUG-B").await, id_of("MUG-R").await);
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'mug'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    // A pending payment holds two red mugs; a paid order took a blue one.
    let (status, pending) = checkout(
        &app,
        &order_body(&[(red, 2)], "pm_card_authenticationRequired"),
        "replace-pending",
    )
    .await;
    assert_eq!(status, 201, "{pending}");
    let (status, paid) = checkout(
        &app,
        &order_body(&[(blue, 1)], "pm_card_visa"),
        "replace-paid",
    )
    .await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(stock_of(&app, red).await, (3, 2));

    // The new file drops the red mug, recounts the blue one and adds a green one.
    let replaced = format!(
        "{HEADER}mug,Mug v2,Colour,Blue,MUG-B,14,10,\n\
         mug,,,Green,MUG-G,14,7,\n"
    );
    import(&app, &replaced, true).await.expect("replace");

    let same_product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = 'mug'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        same_product, product,
        "the product is updated, not recreated"
    );
    assert_eq!(id_of("MUG-B").await, blue, "a kept SKU keeps its variant");
    assert_eq!(
        stock_of(&app, red).await,
        (3, 2),
        "the reservation survives"
    );
    assert_eq!(stock_of(&app, blue).await, (10, 0));
    let archived: Option<i64> =
        sqlx::query_scalar("SELECT archived_at FROM variants WHERE id = $1")
            .bind(red)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert!(archived.is_some(), "the dropped variant is archived");
    let unlinked = count(
        &app,
        "SELECT COUNT(*) FROM order_lines WHERE variant_id IS NULL",
    )
    .await;
    assert_eq!(unlinked, 0, "every order line still names its variant");
    // The ledger adds up: the recount is in it, nothing was cascaded away.
    assert_eq!(
        ledger_of(&app, blue).await,
        (5, 0, 2),
        "sale −1, counted +6"
    );
    assert_eq!(ledger_of(&app, red).await, (0, 2, 1));

    // The shop shows what the file says.
    let (_, mug) = app.json("/api/v1/products/mug").await;
    assert_eq!(mug["title"], "Mug v2");
    let skus: Vec<&str> = mug["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["MUG-B", "MUG-G"]);
    // An archived variant cannot be bought, but the order that holds it can still be paid.
    let (status, _) = checkout(
        &app,
        &order_body(&[(red, 1)], "pm_card_visa"),
        "replace-red",
    )
    .await;
    assert_eq!(status, 409);
    let token = crate::checkout::token_of(&pending);
    app.checkout
        .confirm_test_payment(&token, true)
        .await
        .expect("the reservation is paid");
    assert_eq!(stock_of(&app, red).await, (1, 0));
}

/// The handles an option filter finds in the whole catalog, sorted.
async fn with_option(app: &crate::helpers::TestApp, option: &str) -> Vec<String> {
    let path = format!("/api/v1/products?limit=100&option={option}");
    let (status, body) = app.json(&path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(body["next_cursor"].is_null(), "{path}: one page");
    let mut handles: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["slug"].as_str().unwrap().to_string())
        .collect();
    handles.sort();
    handles
}

/// An option filter finds the products that have the value now: after an import (written a
/// batch at a time), after a replacing one drops, changes and adds values (written by the
/// triggers), and with more values than SQLite's facet bits (62), some of which then share one.
async fn option_filters_find_the_values_products_have_now(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let mut csv = HEADER.to_string();
    for n in 0..70 {
        csv.push_str(&format!("c-{n},Colour {n},Colour,C{n},C-{n},10,5,\n"));
    }
    csv.push_str("mug,Mug,Colour,Blue,MUG-B,12,5,\nmug,,,Red,MUG-R,12,3,\n");
    import(&app, &csv, false).await.expect("import");
    for n in 0..70 {
        assert_eq!(
            with_option(&app, &format!("Colour:C{n}")).await,
            [format!("c-{n}")]
        );
    }
    assert_eq!(with_option(&app, "Colour:Red").await, ["mug"]);
    assert_eq!(with_option(&app, "Colour:Blue").await, ["mug"]);

    // The mug drops red for green; c-3 becomes C4, as c-4 is.
    let replaced = format!(
        "{HEADER}mug,Mug,Colour,Blue,MUG-B,12,5,\n\
         mug,,,Green,MUG-G,12,3,\n\
         c-3,Colour 3,Colour,C4,C-3,10,5,\n"
    );
    import(&app, &replaced, true).await.expect("replace");
    assert_eq!(with_option(&app, "Colour:Red").await, Vec::<String>::new());
    assert_eq!(with_option(&app, "Colour:Green").await, ["mug"]);
    assert_eq!(with_option(&app, "Colour:Blue").await, ["mug"]);
    assert_eq!(with_option(&app, "Colour:C3").await, Vec::<String>::new());
    assert_eq!(with_option(&app, "Colour:C4").await, ["c-3", "c-4"]);
    assert_eq!(with_option(&app, "Colour:C5").await, ["c-5"]);
    if backend == Backend::Sqlite {
        assert_eq!(wrong_facet_bits(&app.db).await, 0);
    }
}

/// The database itself refuses to delete a variant that orders or the ledger refer to, or its
/// product: history is archived, never cascaded away.
async fn variants_with_orders_or_history_cannot_be_deleted(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    import(
        &app,
        &format!("{HEADER}mug,Mug,,,MUG-1,12,5,\ncup,Cup,,,CUP-1,9,5,\n"),
        false,
    )
    .await
    .unwrap();
    let mug: i64 = sqlx::query_scalar("SELECT id FROM variants WHERE sku = 'MUG-1'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (status, _) = checkout(
        &app,
        &order_body(&[(mug, 1)], "pm_card_visa"),
        "keep-history",
    )
    .await;
    assert_eq!(status, 201);
    for sql in [
        "DELETE FROM variants WHERE sku = 'MUG-1'",
        "DELETE FROM products WHERE slug = 'mug'",
    ] {
        assert!(
            sqlx::query(sql).execute(app.db.pool()).await.is_err(),
            "{sql} must be refused"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM stock_ledger").await, 1);
    // A variant nothing refers to can still go.
    sqlx::query("DELETE FROM products WHERE slug = 'cup'")
        .execute(app.db.pool())
        .await
        .expect("a product without history can be deleted");
}

/// A long import from the command line runs while the shop takes orders: every shopper gets
/// an order or a clean "sold out", never an error, and the import finishes.
async fn checkout_during_a_long_import_never_fails(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (variant, _) = crate::checkout::variant_with_stock(&app, 0, 1_000_000).await;
    let products = 4_000;
    let mut csv = String::from(HEADER);
    for n in 0..products {
        csv.push_str(&format!("bulk-{n},Bulk {n},Size,M,BULK-{n}-M,9.50,4,\n"));
    }
    let file = app._data_dir.path().join("bulk.csv");
    std::fs::write(&file, csv).unwrap();
    let mut import = Command::new(env!("CARGO_BIN_EXE_kassa"))
        .args(["import", file.to_str().unwrap()])
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .env("KASSA_DATA_DIR", app._data_dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut statuses = std::collections::BTreeMap::new();
    let mut placed = 0;
    loop {
        let running = import.try_wait().unwrap().is_none();
        let body = order_body(&[(variant, 1)], "pm_card_visa");
        let keys: Vec<String> = (0..4)
            .map(|_| app::checkout::service::random_token())
            .collect();
        let orders = keys.iter().map(|key| checkout(&app, &body, key));
        for (status, body) in futures::future::join_all(orders).await {
            assert!(status == 201 || status == 409, "{status}: {body}");
            *statuses.entry(status).or_insert(0) += 1;
            placed += 1;
        }
        if !running {
            break;
        }
    }
    let output = import.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(placed >= 4, "orders were placed during the import");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM products WHERE slug LIKE 'bulk-%'"
        )
        .await,
        products
    );
    assert_eq!(
        statuses.get(&201).copied().unwrap_or(0),
        placed,
        "{statuses:?}"
    );
}

/// The same from the admin page: a large CSV uploaded by staff imports in the background while
/// shoppers check out, and every shopper gets an order.
async fn checkout_during_an_import_from_the_admin_never_fails(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (variant, _) = crate::checkout::variant_with_stock(&app, 0, 1_000_000).await;
    let staff =
        crate::admin::account(&app, "staff@shop.test", app::admin::Role::Staff, false).await;
    let products = 2_000;
    let mut csv = String::from(HEADER);
    for n in 0..products {
        csv.push_str(&format!("web-{n},Web {n},Size,M,WEB-{n}-M,9.50,4,\n"));
    }
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("bulk.csv"),
    );
    let upload = app
        .client
        .post(format!("{}/admin/import", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &staff)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 303);
    let job = upload.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/admin/import/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let body = order_body(&[(variant, 1)], "pm_card_visa");
    let mut placed = 0;
    let finished = loop {
        let keys: Vec<String> = (0..4)
            .map(|_| app::checkout::service::random_token())
            .collect();
        let orders = keys.iter().map(|key| checkout(&app, &body, key));
        for (status, answer) in futures::future::join_all(orders).await {
            assert_eq!(status, 201, "{answer}");
            placed += 1;
        }
        let status: serde_json::Value = app
            .client
            .post(format!("{}/api/admin/import-status", app.address))
            .header("Origin", &app.address)
            .header("Cookie", &staff)
            .json(&serde_json::json!({ "job": job }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["finished"] == true {
            break status;
        }
    };
    assert_eq!(finished["imported"], products, "{finished}");
    assert!(placed >= 4);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM products WHERE slug LIKE 'web-%'"
        )
        .await,
        products
    );
}

/// `count` products in `collections` collections (each in one, every fifth also in a second),
/// two sizes each, every third with a colour option too; handles start at `first`.
fn generated_csv(first: usize, count: usize, collections: usize) -> String {
    let mut csv = String::from(
        "Handle,Title,Tags,Collections,Option1 Name,Option1 Value,Option2 Name,Option2 Value,\
         Variant SKU,Variant Price,Variant Inventory Qty,Variant Inventory Policy,Image Src\n",
    );
    for n in first..first + count {
        let mut member = format!("line-{}", n % collections);
        if n % 5 == 0 {
            member = format!("\"{member},extra\"");
        }
        let colour = ["Black", "Sky", "Rust"][n % 3];
        for (i, size) in ["S", "L"].into_iter().enumerate() {
            let (title, tags, collections) = match i {
                0 => (
                    format!("Item {n}"),
                    format!("\"t{},common\"", n % 7),
                    member.as_str(),
                ),
                _ => (String::new(), String::new(), ""),
            };
            let (colour_name, colour_value) = match n % 3 == 0 {
                true => ("Colour", colour),
                false => ("", ""),
            };
            let stock = (n + i) % 4; // some sold out
            let policy = if n % 11 == 0 { "continue" } else { "deny" };
            csv.push_str(&format!(
                "p-{n},{title},{tags},{collections},Size,{size},{colour_name},{colour_value},\
                 P{n}-{size},{}.{:02},{stock},{policy},/demo/mug-sky.svg\n",
                5 + n % 40,
                i * 50
            ));
        }
    }
    csv
}

/// SQLite's listing rows whose `facet_bits` are not those of their facets (migration 0035).
async fn wrong_facet_bits(db: &app::db::Db) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM catalog_listing l
           LEFT JOIN catalog_facet_bits_source s
             ON s.collection_id = l.collection_id AND s.product_id = l.product_id
          WHERE l.facet_bits <> IFNULL(s.facet_bits, 0)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

/// Whether SQLite's full-text index `table` is sound and in one segment: the start of an
/// incremental optimize (see `csv_io::tidy_search_indexes`) then finds nothing to merge.
async fn search_index_merged(db: &app::db::Db, table: &str) -> bool {
    let mut conn = db.pool().acquire().await.unwrap();
    sqlx::query(&format!(
        "INSERT INTO {table} ({table}) VALUES ('integrity-check')"
    ))
    .execute(&mut *conn)
    .await
    .unwrap();
    let changes = "SELECT total_changes()";
    let before: i64 = sqlx::query_scalar(changes)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    sqlx::query(&format!(
        "INSERT INTO {table} ({table}, rank) VALUES ('merge', -500)"
    ))
    .execute(&mut *conn)
    .await
    .unwrap();
    let after: i64 = sqlx::query_scalar(changes)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    after - before < 2
}

/// Pages of Postgres's search indexes' pending lists: entries not yet in the GIN index, which
/// every search reads through one by one.
async fn gin_pending_pages(db: &app::db::Db) -> i64 {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT SUM(g.pending_pages)::BIGINT
           FROM pg_index i CROSS JOIN LATERAL pgstatginindex(i.indexrelid::regclass) g
          WHERE i.indrelid = 'product_search'::regclass
            AND i.indexrelid <> 'product_search_pkey'::regclass",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

/// A file of several batches, written a batch per few statements, lists every product once
/// with the figures its variants give, offers every option value, and keeps the file's order.
async fn a_large_import_lists_every_product_as_its_variants_say(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    // Some products the shop has already, in the same collections, numbered after the file's.
    import(&app, &generated_csv(10_000, 30, 4), false)
        .await
        .unwrap();
    let count = 3 * import_batch(app.db.backend()) + 17;
    assert_eq!(
        import(&app, &generated_csv(0, count, 4), false)
            .await
            .unwrap(),
        count
    );
    assert_eq!(product_count(&app.db).await, (count + 30) as i64);

    let listing = "collection_id, product_id, position, created_at, title, min_price, buyable";
    assert_eq!(
        differences(
            &app.db,
            "catalog_listing",
            "catalog_listing_source",
            listing
        )
        .await,
        (0, 0),
        "the listing holds what the products' variants and memberships say"
    );
    assert_cards_follow(&app, "an import of several batches").await;
    let facets = "collection_id, facet, product_id";
    assert_eq!(
        differences(&app.db, "catalog_facets", "catalog_facets_source", facets).await,
        (0, 0),
        "the facets hold every option value of every listed product"
    );
    if backend == Backend::Sqlite {
        let deferred: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_listing_deferred")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(deferred, 0, "no product is left out of the triggers");
        assert_eq!(
            wrong_facet_bits(&app.db).await,
            0,
            "each listing row has the bits of its facets"
        );
        for table in ["product_search", "product_untitled_words"] {
            assert!(
                search_index_merged(&app.db, table).await,
                "the import leaves {table} in one segment"
            );
        }
    } else {
        assert_eq!(
            gin_pending_pages(&app.db).await,
            0,
            "the import leaves no search entries waiting outside the GIN indexes"
        );
    }
    let searchable = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM product_search WHERE skus LIKE 'P%-S P%-L'",
        Backend::Postgres => "SELECT COUNT(*) FROM product_search WHERE document @@ 'l'::tsquery",
    };
    let searchable: i64 = sqlx::query_scalar(searchable)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        searchable,
        (count + 30) as i64,
        "every product is searchable by SKU"
    );

    // The new products follow the old ones in each collection, in the file's order.
    let members: Vec<(String, i64)> = sqlx::query_as(
        "SELECT p.slug, cp.position FROM collection_products cp
           JOIN products p ON p.id = cp.product_id
           JOIN collections c ON c.id = cp.collection_id
          WHERE c.slug = 'line-1' ORDER BY cp.position",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let positions: Vec<i64> = members.iter().map(|(_, p)| *p).collect();
    assert_eq!(positions, (0..members.len() as i64).collect::<Vec<_>>());
    let handles: Vec<&str> = members.iter().map(|(s, _)| s.as_str()).collect();
    let expected: Vec<String> = (10_000..10_030)
        .chain(0..count)
        .filter(|n| n % 4 == 1)
        .map(|n| format!("p-{n}"))
        .collect();
    assert_eq!(handles, expected);

    // Newest first follows the file: its first product is the newest.
    let newest: Vec<String> = sqlx::query_scalar(
        "SELECT slug FROM products WHERE slug IN ('p-0', 'p-1', 'p-150') ORDER BY created_at DESC",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(newest, ["p-0", "p-1", "p-150"]);
}

/// Every page of a search, followed by its cursors `limit` at a time: the slugs in order.
async fn search_pages(app: &crate::helpers::TestApp, q: &str, limit: usize) -> Vec<String> {
    let mut slugs = Vec::new();
    let mut path = format!("/api/v1/products?q={q}&limit={limit}");
    loop {
        let (status, page) = app.json(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        slugs.extend(slugs_of(&page).into_iter().map(String::from));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(page["items"].as_array().unwrap().len(), limit, "{path}");
                path = format!("/api/v1/products?q={q}&limit={limit}&cursor={cursor}");
            }
            None => return slugs,
        }
    }
}

/// A search ranks a whole SKU first, then matches in the title, then in the tags or SKUs, then
/// anywhere else; the most recently added first within each. On a catalog large enough to
/// tell, its pages list every match once, across the tiers.
async fn searches_rank_by_where_they_match_then_newest_first(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    import(&app, &generated_csv(0, 1_100, 4), false)
        .await
        .unwrap();
    // The oldest product matches in its title, the newest only in its description.
    let harbour =
        "Handle,Title,Body (Markdown),Tags,Variant SKU,Variant Price,Variant Inventory Qty\n\
                   in-title,Harbour Scarf,A scarf.,,H-1,10.00,5\n\
                   in-tags,Deck Shoe,A shoe.,harbour,H-2,10.00,5\n\
                   in-text,Rope Belt,Rope from the harbour.,,H-3,10.00,5\n";
    import(&app, harbour, false).await.unwrap();
    let ids: Vec<(String, i64)> = sqlx::query_as("SELECT slug, id FROM products")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let id_of = |slug: &str| ids.iter().find(|(s, _)| s == slug).unwrap().1;
    let newest_first = |mut slugs: Vec<String>| {
        slugs.sort_by_key(|s| std::cmp::Reverse(id_of(s)));
        slugs
    };

    assert_eq!(
        search_pages(&app, "harbour", 1).await,
        ["in-title", "in-tags", "in-text"]
    );

    // Every product has "item" in its title: the first page is the most recently added.
    let (status, page) = app.json("/api/v1/products?q=item").await;
    assert_eq!(status, 200, "{page}");
    let generated: Vec<String> = (0..1_100).map(|n| format!("p-{n}")).collect();
    let first: Vec<String> = slugs_of(&page).into_iter().map(String::from).collect();
    assert_eq!(first, newest_first(generated.clone())[..24]);
    assert!(page["next_cursor"].is_string());
    assert_eq!(
        search_pages(&app, "item", 100).await,
        newest_first(generated)
    );

    // The exact SKU first, then the products whose SKUs begin with its first word (p-10 …,
    // p-100 …), each once.
    let slugs = search_pages(&app, "P1-S", 7).await;
    assert_eq!(slugs[0], "p-1", "{slugs:?}");
    let prefixed: Vec<String> = (0..1_100)
        .map(|n| format!("p-{n}"))
        .filter(|s| s != "p-1" && s.starts_with("p-1"))
        .collect();
    assert_eq!(slugs[1..], newest_first(prefixed));

    // A tag with filters: only the matches that pass them, every page full but the last.
    let tagged: Vec<String> = (0..1_100)
        .filter(|n| n % 7 == 3)
        .map(|n| format!("p-{n}"))
        .collect();
    assert_eq!(
        search_pages(&app, "t3", 10).await,
        newest_first(tagged.clone())
    );
    // Products cost 5 + n % 40 euros at least.
    let cheap: Vec<String> = (0..1_100)
        .filter(|n| n % 7 == 3 && n % 40 <= 5)
        .map(|n| format!("p-{n}"))
        .collect();
    assert_eq!(
        search_pages(&app, "t3&max=10", 4).await,
        newest_first(cheap)
    );
    // Sorted by price, the matches in the order of their lowest price (the older first between
    // equals), page after page; the other way round from the most expensive.
    let number = |slug: &str| slug[2..].parse::<i64>().unwrap();
    let mut by_price = tagged.clone();
    by_price.sort_by_key(|s| (number(s) % 40, id_of(s)));
    assert_eq!(search_pages(&app, "t3&sort=price-asc", 9).await, by_price);
    by_price.reverse();
    assert_eq!(search_pages(&app, "t3&sort=price-desc", 9).await, by_price);
    // SQLite finds a page of a word of more than a thousand products (`FEW_MATCHES`) among
    // the first listing rows read, each product's words looked up; of fewer, it sorts them.
    let mut every_item: Vec<String> = (0..1_100).map(|n| format!("p-{n}")).collect();
    every_item.sort_by_key(|s| (number(s) % 40, id_of(s)));
    assert_eq!(
        search_pages(&app, "item&sort=price-asc", 50).await,
        every_item
    );
    // A code (its matches counted before the listing is read, by a statement of its own on
    // SQLite and without the window on Postgres): a SKU's product, and the 111 products whose
    // SKUs begin with "P10", sorted in by price.
    assert_eq!(
        search_pages(&app, "P1050-M&sort=price-asc", 2).await,
        ["p-1050"]
    );
    let begin_p10: Vec<String> = every_item
        .iter()
        .filter(|s| number(s).to_string().starts_with("10"))
        .cloned()
        .collect();
    assert_eq!(begin_p10.len(), 111);
    assert_eq!(
        search_pages(&app, "P10&sort=price-asc", 20).await,
        begin_p10
    );
    // A word of a few products, far from the first listing rows read: every match once.
    assert_eq!(
        search_pages(&app, "harbour&sort=price-desc", 2).await,
        ["in-text", "in-tags", "in-title"]
    );
    // A word of every product, but none among the first rows read for a tight filter (SQLite
    // then reads the listing along the sort for the index's matches).
    let mut cheapest: Vec<String> = (0..1_100)
        .filter(|n| n % 40 <= 1)
        .map(|n| format!("p-{n}"))
        .collect();
    cheapest.sort_by_key(|s| std::cmp::Reverse((number(s) % 40, id_of(s))));
    assert_eq!(
        search_pages(&app, "item&max=6&sort=price-desc", 10).await,
        cheapest
    );

    // The two cheapest products, so that a page of one is found among the first listing rows.
    let zephyr =
        "Handle,Title,Body (Markdown),Tags,Variant SKU,Variant Price,Variant Inventory Qty\n\
                  zephyr-1,Crème Zephyr Scarf,A scarf.,,Z-1,1.00,5\n\
                  zephyr-2,Crème Zephyr Hat,A hat.,,Z-2,1.50,5\n";
    import(&app, zephyr, false).await.unwrap();
    // Postgres's 'simple' configuration keeps accents; SQLite's tokenizer folds them, and
    // "creme" is then a word of plain letters, looked up in each product's words.
    let words: &[&str] = match backend {
        Backend::Sqlite => &["zephyr", "cr%C3%A8me", "creme", "CREME"],
        Backend::Postgres => &["zephyr", "cr%C3%A8me"],
    };
    for q in words {
        assert_eq!(
            search_pages(&app, &format!("{q}&sort=price-asc"), 1).await,
            ["zephyr-1", "zephyr-2"],
            "{q}"
        );
    }
    // Renamed, a product no longer matches its old words.
    let renamed =
        "Handle,Title,Body (Markdown),Tags,Variant SKU,Variant Price,Variant Inventory Qty\n\
                   zephyr-2,Plain Hat,A hat.,,Z-2,1.50,5\n";
    import(&app, renamed, true).await.unwrap();
    let (status, page) = app
        .json("/api/v1/products?q=zephyr&sort=price-asc&limit=1")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(slugs_of(&page), ["zephyr-1"]);
    assert!(page["next_cursor"].is_null(), "{page}");
    if backend == Backend::Sqlite {
        let words: String = sqlx::query_scalar(
            "SELECT w.words FROM product_words w JOIN products p ON p.id = w.product_id \
             WHERE p.slug = 'zephyr-2'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        let mut words: Vec<&str> = words.split_whitespace().collect();
        words.sort();
        assert_eq!(words, ["2", "a", "hat", "plain", "z"]);
    }

    // A cursor of another order is refused, not misread.
    let (_, by_price) = app.json("/api/v1/products?q=item&sort=price-asc").await;
    let cursor = by_price["next_cursor"].as_str().unwrap();
    let (status, body) = app
        .json(&format!("/api/v1/products?q=item&cursor={cursor}"))
        .await;
    assert_eq!(status, 400, "{body}");
}

/// The second reading writes what it reads: a file that changed since it was checked stops the
/// import where it changed, and says so.
async fn a_file_that_changes_between_its_readings_stops_there(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let dir = app._data_dir.path();
    let media = MediaStore::new(dir);
    let batch = import_batch(app.db.backend());
    let good = generated_csv(0, batch + 5, 3);
    let checked = check_import(&app.db, good.as_bytes(), dir, Currency::EUR, &media, false)
        .await
        .unwrap();
    // The fourth product of the second batch, its large size's price as generated_csv writes it.
    let n = batch + 3;
    let price = format!("P{n}-L,{}.50", 5 + n % 40);
    let changed = good.replace(&price, &format!("P{n}-L,oops"));
    assert_ne!(changed, good);
    match write_import(&app.db, changed.as_bytes(), &checked, |_| {}).await {
        Err(ImportError::Changed { written, error }) => {
            assert_eq!(written, batch);
            assert_eq!(error.column.as_deref(), Some("Variant Price"));
        }
        other => panic!("expected the change to be caught, got {other:?}"),
    }
    assert_eq!(
        product_count(&app.db).await,
        batch as i64,
        "the batches before the change stay written"
    );
}

/// Rows of one statement are bound in statements of a few thousand values, whatever their
/// number.
async fn bulk_rows_go_in_as_many_statements_as_they_need(backend: Backend) {
    use app::catalog::bulk::insert_rows;
    use app::db::Arg;
    let app = spawn_empty_app(backend).await;
    import(&app, &generated_csv(0, 1, 1), false).await.unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM products")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let tags: Vec<String> = (0..9_000).map(|n| format!("tag-{n}")).collect();
    let returned = app
        .db
        .writes()
        .run(
            move |conn| -> app::write_queue::JobFuture<'_, Result<usize, sqlx::Error>> {
                Box::pin(async move {
                    let values: Vec<Arg> = tags
                        .iter()
                        .flat_map(|tag| [Arg::Int(id), Arg::from(tag.as_str())])
                        .collect();
                    let rows = insert_rows(
                        conn,
                        "INSERT INTO product_tags (product_id, tag)",
                        2,
                        &values,
                        "RETURNING tag",
                    )
                    .await?;
                    Ok(rows.len())
                })
            },
        )
        .await
        .unwrap();
    assert_eq!(returned, 9_000);
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM product_tags WHERE tag LIKE 'tag-%'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, 9_000);
}

async fn pictures_stored_before_webp_get_their_copies_later(backend: Backend) {
    let app = spawn_empty_app(backend).await;
    let picture = image::RgbImage::from_fn(700, 500, |x, y| {
        image::Rgb([(x / 3) as u8, (y / 2) as u8, 60])
    });
    picture.save(app._data_dir.path().join("cup.png")).unwrap();
    let csv = format!(
        "{HEADER}cup,Cup,,,CUP-1,12,3,cup.png\n\
         odd,Odd,,,ODD-1,12,3,/media/../secret.jpg\n"
    );
    import(&app, &csv, false).await.expect("import");
    // As a shop upgraded from before WebP has them: no copies, no column.
    let media_dir = app._data_dir.path().join("media");
    for file in std::fs::read_dir(&media_dir).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|e| e == "webp") {
            std::fs::remove_file(path).unwrap();
        }
    }
    sqlx::query("UPDATE product_images SET webp_srcset = NULL")
        .execute(app.db.pool())
        .await
        .unwrap();
    // A set imported from a CSV that points out of the media folder.
    sqlx::query(
        "UPDATE product_images SET srcset = '/media/../secret.jpg 320w'
          WHERE url = '/media/../secret.jpg'",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let (_, cup) = app.json("/api/v1/products/cup").await;
    assert!(cup["images"][0]["webp_srcset"].is_null());

    let media = MediaStore::new(app._data_dir.path());
    let looked_at = app::catalog::media::add_missing_webp(&app.db, &media, 20)
        .await
        .unwrap();
    assert_eq!(looked_at, 2);
    assert_eq!(
        app::catalog::media::add_missing_webp(&app.db, &media, 20)
            .await
            .unwrap(),
        0,
        "each picture is looked at once"
    );

    let (_, cup) = app.json("/api/v1/products/cup").await;
    let webp_srcset = cup["images"][0]["webp_srcset"].as_str().unwrap();
    let srcset = cup["images"][0]["srcset"].as_str().unwrap();
    assert_eq!(webp_srcset, srcset.replace(".jpg ", ".webp "));
    for entry in webp_srcset.split(", ") {
        let url = entry.split_once(' ').unwrap().0;
        let response = app.get(url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "image/webp");
    }
    let (_, odd) = app.json("/api/v1/products/odd").await;
    assert!(
        odd["images"][0]["webp_srcset"].is_null(),
        "no copies of a file outside the media folder: {odd}"
    );
    assert!(!app._data_dir.path().join("secret.webp").exists());
}

on_both_databases!(
    pictures_stored_before_webp_get_their_copies_later,
    a_large_import_lists_every_product_as_its_variants_say,
    option_filters_find_the_values_products_have_now,
    searches_rank_by_where_they_match_then_newest_first,
    a_file_that_changes_between_its_readings_stops_there,
    bulk_rows_go_in_as_many_statements_as_they_need,
    checkout_during_an_import_from_the_admin_never_fails,
    replacing_a_product_keeps_its_orders_and_reservations,
    variants_with_orders_or_history_cannot_be_deleted,
    checkout_during_a_long_import_never_fails,
    an_exported_catalog_imports_back_to_the_same_catalog,
    a_file_with_one_bad_line_imports_nothing,
    existing_handles_and_skus_are_refused_unless_replacing,
    picture_files_are_resized_into_several_widths,
    the_cli_imports_and_exports_and_names_bad_lines,
);
