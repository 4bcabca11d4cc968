//! Product CSV import and export, in columns close to Shopify's product CSV so a shop can move
//! its catalog over: one row per variant, the product's own fields on its first row, and extra
//! rows for pictures beyond the number of variants.
//!
//! Import reads the file twice, a product at a time, so a file of any size takes little memory.
//! The first reading checks the whole file, against the database too, and reports every
//! problem with its line and column; only a clean file is written. The second writes it
//! through the shop's writer in batches of [`import_batch`] products, one transaction each, so
//! a long import holds the write lock for moments at a time and shoppers' orders go on between
//! batches (on SQLite also when the import runs from the command line beside a running shop).
//!
//! `--replace` updates existing products in place: variants are matched by SKU and keep their
//! ids, so orders, reservations and the stock ledger stay whole; a variant the file no longer
//! lists is deleted if nothing refers to it, and archived otherwise.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use sqlx::Row as _;

use super::bulk::{self, BulkProduct};
use super::media::MediaStore;
use super::ssr::{
    insert_images, insert_product_parts, insert_variant, refresh_search_document, NewImage,
    NewProduct, NewVariant,
};
use crate::db::{now_epoch, Backend, Db, Sql};
use crate::inventory::{self, AdjustReason, Movement, StockError, StockMove};
use crate::money::{Currency, Money};
use crate::write_queue::JobFuture;
use sqlx::AnyConnection;

/// The columns `export` writes, in order. Import also accepts Shopify's `Body (HTML)` and
/// ignores columns it does not know.
pub const COLUMNS: [&str; 31] = [
    "Handle",
    "Title",
    "Body (Markdown)",
    "Vendor",
    "Type",
    "Tags",
    "Status",
    "SEO Title",
    "SEO Description",
    "Collections",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Currency",
    "Variant Image",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Image Width",
    "Image Height",
    "Image Srcset",
    "Image Srcset WebP",
];

/// Pictures named by a site address (or an absolute URL) without their size get this one.
const DEFAULT_IMAGE_SIZE: i64 = 1000;

/// A problem at a place in the file, said so a person can fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(column) => write!(
                f,
                "line {}, column \"{column}\": {}",
                self.line, self.message
            ),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Where a picture comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// Already served somewhere: a site path such as `/demo/mug.svg`, or an absolute URL.
    Address {
        url: String,
        width: i64,
        height: i64,
        srcset: Option<String>,
        webp_srcset: Option<String>,
    },
    /// A file beside the CSV, to be resized into the media store.
    File(PathBuf),
}

#[derive(Clone, Debug)]
pub struct ImportImage {
    pub source: ImageSource,
    pub alt: String,
    pub variant: Option<usize>,
}

/// A product read from the file, checked but not yet written.
#[derive(Clone, Debug)]
pub struct ImportProduct {
    pub line: u64,
    pub product: NewProduct,
    pub images: Vec<ImportImage>,
    pub collections: Vec<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
}

struct CsvRow<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl CsvRow<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns
            .get(&column.to_ascii_lowercase())
            .and_then(|i| self.record.get(*i))
            .map(str::trim)
            .unwrap_or("")
    }

    fn error(&self, column: &str, message: impl Into<String>) -> LineError {
        LineError {
            line: self.line,
            column: Some(column.to_string()),
            message: message.into(),
        }
    }
}

fn valid_handle(handle: &str) -> bool {
    !handle.is_empty()
        && handle.len() <= 200
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !handle.starts_with('-')
        && !handle.ends_with('-')
}

/// Reads a file a product at a time, checking each row as it goes, so a file of any size is
/// read in little memory. A product's rows must be together (as Shopify and `export` write
/// them); `base_dir` resolves picture file names.
///
/// Yields each product once its last row is read, and each problem as it is found; a product
/// with problems is still yielded (its rows are reported), so the caller can go on checking.
pub struct ProductReader<R: Read> {
    records: csv::StringRecordsIntoIter<R>,
    columns: HashMap<String, usize>,
    base_dir: PathBuf,
    currency: Currency,
    /// The product whose rows are being read, and whether any of them had a problem.
    current: Option<(ImportProduct, bool)>,
    /// Every handle read so far, with its first line: a product's rows must be together.
    handles: HashMap<String, u64>,
    /// Every SKU read so far, with its line: SKUs are unique in the file.
    skus: HashMap<String, u64>,
    ready: std::collections::VecDeque<Result<ImportProduct, Vec<LineError>>>,
    rows: u64,
}

impl<R: Read> ProductReader<R> {
    /// Reads the header row; a file without the required columns is refused here.
    pub fn new(input: R, base_dir: &Path, currency: Currency) -> Result<Self, Vec<LineError>> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader.headers().map_err(|e| {
            vec![LineError {
                line: 1,
                column: None,
                message: format!("cannot read the header row: {e}"),
            }]
        })?;
        let columns: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim().to_ascii_lowercase(), i))
            .collect();
        let missing: Vec<LineError> = ["Handle", "Title", "Variant SKU", "Variant Price"]
            .into_iter()
            .filter(|required| !columns.contains_key(&required.to_ascii_lowercase()))
            .map(|required| LineError {
                line: 1,
                column: Some(required.into()),
                message: "this column is missing".into(),
            })
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(Self {
            records: reader.into_records(),
            columns,
            base_dir: base_dir.to_path_buf(),
            currency,
            current: None,
            handles: HashMap::new(),
            skus: HashMap::new(),
            ready: Default::default(),
            rows: 0,
        })
    }

    /// Reads rows until a product is whole or a problem is found; `None` at the end.
    fn read(&mut self) -> Option<()> {
        let record = match self.records.next() {
            Some(record) => record,
            None => {
                let last = self.current.take()?;
                finish(&mut self.ready, last);
                return Some(());
            }
        };
        self.rows += 1;
        // Where the record starts: a quoted field may span lines.
        let line = match &record {
            Ok(record) => record.position().map_or(self.rows + 1, |p| p.line()),
            Err(e) => e.position().map_or(self.rows + 1, |p| p.line()),
        };
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                self.ready.push_back(Err(vec![LineError {
                    line,
                    column: None,
                    message: format!("not valid CSV: {e}"),
                }]));
                return Some(());
            }
        };
        if record.iter().all(|field| field.trim().is_empty()) {
            return Some(());
        }
        let row = CsvRow {
            line,
            record: &record,
            columns: &self.columns,
        };
        let handle = row.get("Handle");
        if !valid_handle(handle) {
            let error = row.error(
                "Handle",
                format!("'{handle}' is not a handle: use lower-case letters, digits and hyphens"),
            );
            self.ready.push_back(Err(vec![error]));
            return Some(());
        }
        let same = matches!(&self.current, Some((p, _)) if p.product.slug == handle);
        if !same {
            if let Some(first) = self.handles.get(handle) {
                let error = row.error(
                    "Handle",
                    format!(
                        "the rows of product '{handle}' must be together: its first row is line {first}"
                    ),
                );
                self.ready.push_back(Err(vec![error]));
                return Some(());
            }
            let product = match start_product(&row, handle) {
                Ok(product) => product,
                Err(errors) => {
                    self.ready.push_back(Err(errors));
                    return Some(());
                }
            };
            self.handles.insert(handle.to_string(), line);
            if let Some(finished) = self.current.replace((product, false)) {
                finish(&mut self.ready, finished);
            }
        }
        let Some((product, with_errors)) = self.current.as_mut() else {
            return Some(());
        };
        if let Err(errors) = add_row(product, &row, &self.base_dir, self.currency, &mut self.skus) {
            *with_errors = true;
            self.ready.push_back(Err(errors));
        }
        Some(())
    }
}

/// Hands a product whose rows are all read to the reader's caller.
fn finish(
    ready: &mut std::collections::VecDeque<Result<ImportProduct, Vec<LineError>>>,
    (product, with_errors): (ImportProduct, bool),
) {
    // A product whose variant rows were all wrong has been reported already.
    if product.product.variants.is_empty() {
        if !with_errors {
            ready.push_back(Err(vec![LineError {
                line: product.line,
                column: None,
                message: format!("product '{}' has no variant rows", product.product.slug),
            }]));
        }
        return;
    }
    ready.push_back(Ok(product));
}

impl<R: Read> Iterator for ProductReader<R> {
    type Item = Result<ImportProduct, Vec<LineError>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            self.read()?;
        }
    }
}

fn start_product(row: &CsvRow<'_>, handle: &str) -> Result<ImportProduct, Vec<LineError>> {
    let mut errors = Vec::new();
    let title = row.get("Title");
    if title.is_empty() {
        errors.push(row.error("Title", "a product's first row needs a title"));
    }
    let status = match row.get("Status").to_ascii_lowercase().as_str() {
        "" | "active" => "active",
        "draft" => "draft",
        "archived" => "archived",
        other => {
            errors.push(row.error(
                "Status",
                format!("'{other}' is not one of active, draft, archived"),
            ));
            "draft"
        }
    };
    let body = match (row.get("Body (Markdown)"), row.get("Body (HTML)")) {
        ("", html) => html_to_text(html),
        (markdown, _) => markdown.to_string(),
    };
    let option_names: Vec<String> = ["Option1 Name", "Option2 Name", "Option3 Name"]
        .iter()
        .map(|c| row.get(c).to_string())
        .take_while(|n| !n.is_empty())
        .collect();
    let mut tags: Vec<String> = row
        .get("Tags")
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    let collections = row
        .get("Collections")
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>();
    for slug in &collections {
        if !valid_handle(slug) {
            errors.push(row.error(
                "Collections",
                format!("'{slug}' is not a collection handle"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = |c: &str| Some(row.get(c).to_string()).filter(|s| !s.is_empty());
    Ok(ImportProduct {
        line: row.line,
        product: NewProduct {
            slug: handle.to_string(),
            title: title.to_string(),
            description_md: body,
            vendor: row.get("Vendor").to_string(),
            product_type: row.get("Type").to_string(),
            status,
            tags,
            option_names,
            variants: Vec::new(),
            images: Vec::new(),
        },
        images: Vec::new(),
        collections,
        seo_title: text("SEO Title"),
        seo_description: text("SEO Description"),
    })
}

fn add_row(
    product: &mut ImportProduct,
    row: &CsvRow<'_>,
    base_dir: &Path,
    default_currency: Currency,
    skus: &mut HashMap<String, u64>,
) -> Result<(), Vec<LineError>> {
    let mut errors = Vec::new();
    let is_variant = !row.get("Variant SKU").is_empty() || !row.get("Variant Price").is_empty();
    if is_variant {
        match parse_variant(product, row, default_currency) {
            Ok(variant) => {
                if let Some(first) = skus.insert(variant.sku.clone(), row.line) {
                    errors.push(row.error(
                        "Variant SKU",
                        format!("SKU '{}' is already used on line {first}", variant.sku),
                    ));
                }
                let same = product
                    .product
                    .variants
                    .iter()
                    .any(|v| v.options == variant.options);
                if same && !variant.options.is_empty() {
                    errors.push(row.error(
                        "Option1 Value",
                        format!(
                            "another variant of '{}' has the options {}",
                            product.product.slug,
                            variant.options.join(" / ")
                        ),
                    ));
                }
                product.product.variants.push(variant);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    let src = row.get("Image Src");
    if !src.is_empty() && !product.images.iter().any(|i| image_key(&i.source) == src) {
        match image_source(row, src, "Image Src", base_dir) {
            Ok(source) => product.images.push(ImportImage {
                source,
                alt: row.get("Image Alt Text").to_string(),
                variant: None,
            }),
            Err(e) => errors.push(e),
        }
    }
    let variant_image = row.get("Variant Image");
    if is_variant && !variant_image.is_empty() && errors.is_empty() {
        let variant = product.product.variants.len() - 1;
        match product
            .images
            .iter_mut()
            .find(|i| image_key(&i.source) == variant_image)
        {
            Some(image) if image.variant.is_none() => image.variant = Some(variant),
            Some(_) => {}
            None => match image_source(row, variant_image, "Variant Image", base_dir) {
                Ok(source) => product.images.push(ImportImage {
                    source,
                    alt: String::new(),
                    variant: Some(variant),
                }),
                Err(e) => errors.push(e),
            },
        }
    }
    if !is_variant && src.is_empty() {
        errors.push(row.error("Variant SKU", "the row has neither a variant nor a picture"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn parse_variant(
    product: &ImportProduct,
    row: &CsvRow<'_>,
    default_currency: Currency,
) -> Result<NewVariant, Vec<LineError>> {
    let mut errors = Vec::new();
    let sku = row.get("Variant SKU");
    if sku.is_empty() {
        errors.push(row.error("Variant SKU", "every variant needs a SKU"));
    } else if sku.len() > 64 || sku.chars().any(char::is_whitespace) {
        errors.push(row.error(
            "Variant SKU",
            format!("'{sku}' is not a SKU: at most 64 characters, no spaces"),
        ));
    }
    let currency = match row.get("Variant Currency") {
        "" => default_currency,
        code => Currency::parse(code).unwrap_or_else(|e| {
            errors.push(row.error("Variant Currency", e.to_string()));
            default_currency
        }),
    };
    let mut money = |column: &str, required: bool| -> Option<Money> {
        match row.get(column) {
            "" if required => {
                errors.push(row.error(column, "every variant needs a price"));
                None
            }
            "" => None,
            value => match Money::parse(value, currency) {
                Ok(money) => Some(money),
                Err(error) => {
                    errors.push(row.error(column, error.to_string()));
                    None
                }
            },
        }
    };
    let price = money("Variant Price", true);
    let compare_at = money("Variant Compare At Price", false);
    let mut whole = |column: &str| -> i64 {
        match row.get(column) {
            "" => 0,
            value => value
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=crate::inventory::MAX_UNITS).contains(n))
                .unwrap_or_else(|| {
                    errors.push(row.error(
                        column,
                        format!(
                            "'{value}' is not a whole number from 0 to {}",
                            crate::inventory::MAX_UNITS
                        ),
                    ));
                    0
                }),
        }
    };
    let weight_grams = whole("Variant Grams");
    let on_hand = whole("Variant Inventory Qty");
    let allow_backorder = match row
        .get("Variant Inventory Policy")
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "deny" => false,
        "continue" | "allow" => true,
        other => {
            errors.push(row.error(
                "Variant Inventory Policy",
                format!("'{other}' is not deny or continue"),
            ));
            false
        }
    };
    let names = product.product.option_names.len();
    let options: Vec<String> = ["Option1 Value", "Option2 Value", "Option3 Value"]
        .iter()
        .map(|c| row.get(c).to_string())
        .take_while(|v| !v.is_empty())
        .collect();
    if options.len() != names {
        errors.push(row.error(
            "Option1 Value",
            format!(
                "the product has {names} option name(s) but this variant has {} value(s)",
                options.len()
            ),
        ));
    }
    match price {
        Some(price) if errors.is_empty() => Ok(NewVariant {
            sku: sku.to_string(),
            options,
            price,
            compare_at,
            weight_grams,
            on_hand,
            allow_backorder,
        }),
        _ => Err(errors),
    }
}

fn image_key(source: &ImageSource) -> String {
    match source {
        ImageSource::Address { url, .. } => url.clone(),
        ImageSource::File(path) => path.display().to_string(),
    }
}

fn image_source(
    row: &CsvRow<'_>,
    value: &str,
    column: &str,
    base_dir: &Path,
) -> Result<ImageSource, LineError> {
    if value.starts_with('/') && !value.starts_with("//")
        || value.starts_with("https://")
        || value.starts_with("http://")
    {
        let size = |c: &str| row.get(c).parse::<i64>().ok().filter(|n| *n > 0);
        let text = |c: &str| Some(row.get(c).to_string()).filter(|s| !s.is_empty());
        return Ok(ImageSource::Address {
            url: value.to_string(),
            width: size("Image Width").unwrap_or(DEFAULT_IMAGE_SIZE),
            height: size("Image Height").unwrap_or(DEFAULT_IMAGE_SIZE),
            srcset: text("Image Srcset"),
            webp_srcset: text("Image Srcset WebP"),
        });
    }
    let path = base_dir.join(value);
    if path.is_file() {
        Ok(ImageSource::File(path))
    } else {
        Err(row.error(
            column,
            format!("'{value}' is neither a site address, a URL nor a file next to the CSV"),
        ))
    }
}

/// Shopify bodies are HTML; Kassa keeps Markdown and drops raw HTML, so keep the text.
fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut tag = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if matches!(
                    name.as_str(),
                    "p" | "br" | "div" | "li" | "h1" | "h2" | "h3" | "h4" | "ul" | "ol"
                ) {
                    text.push_str("\n\n");
                }
            }
            (true, c) => tag.push(c),
            (false, c) => text.push(c),
        }
    }
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ");
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} problem(s) in the file", .0.len())]
    Invalid(Vec<LineError>),
    /// The database failed part-way: the batches before it stay written.
    #[error("the import stopped after {written} of {total} products: {error}")]
    Partial {
        written: usize,
        total: usize,
        error: sqlx::Error,
    },
    /// The file read differently the second time: the batches before it stay written.
    #[error(
        "the file changed while it was imported; {written} products were written, then {error}"
    )]
    Changed { written: usize, error: LineError },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Products per transaction of an import: small enough that the write lock is held for a
/// moment, large enough that few commits rewrite the same pages. Each batch rewrites pages of
/// the listing's indexes (titles and prices in random order) that the next batch rewrites
/// again, and the database writes every page a commit changed. 100,000 products by
/// `kassa import` (`/usr/bin/time`, as scripts/bench-scale.sh measures it):
///
/// - SQLite, with checkpoints every 40,000 pages (`db::SQLITE_BULK_PRAGMAS`): 200 a batch,
///   48.9 s and 123 MB, the write lock held 114 ms a batch (median of the last 100 batches);
///   300, 44.3 s and 156 MB; **400, 41.7 s and 159 MB, 153 ms**; 600, 40.2 s and 174 MB. The
///   memory is SQLite's statement journals, kept in memory by the command line's import.
/// - Postgres: 200 and 400 a batch were alike within this machine's noise (three runs of
///   each, alternating: 86–118 s and 97–117 s), so it keeps 200. Its import waits on the
///   database's own work (one core busy in the backend), not on its commits.
pub fn import_batch(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 400,
        Backend::Postgres => 200,
    }
}

/// Products checked against the shop's handles and SKUs at a time.
const CHECK_BATCH: usize = 1_000;

/// Problems reported at most: past them, a file is not worth reading on.
const MAX_PROBLEMS: usize = 1_000;

/// A file read whole and found clean, ready for [`write_import`] to read again and write.
pub struct CheckedImport {
    products: usize,
    replace: bool,
    base_dir: PathBuf,
    currency: Currency,
    /// Pictures given as files beside the CSV, already in the media store.
    stored: HashMap<PathBuf, super::media::StoredImage>,
}

impl CheckedImport {
    /// The number of products the file holds.
    pub fn products(&self) -> usize {
        self.products
    }
}

/// The first of an import's two readings: checks every row, and the file against the shop
/// (handles and SKUs it has), and puts pictures given as files into the media store (slow work
/// done before anything holds the write lock; files are content-addressed, so a file that
/// turns out bad leaves only harmless unused files). Keeps a batch of products at a time, so
/// any size of file is checked in little memory. Existing products with the same handle are an
/// error unless `replace`.
pub async fn check_import(
    db: &Db,
    input: impl Read,
    base_dir: &Path,
    currency: Currency,
    media: &MediaStore,
    replace: bool,
) -> Result<CheckedImport, ImportError> {
    let reader = ProductReader::new(input, base_dir, currency).map_err(ImportError::Invalid)?;
    let mut errors = Vec::new();
    let mut stored = HashMap::new();
    let mut products = 0;
    let mut batch = Vec::with_capacity(CHECK_BATCH);
    let mut reader = reader.peekable();
    while reader.peek().is_some() && errors.len() < MAX_PROBLEMS {
        batch.clear();
        for item in reader.by_ref().take(CHECK_BATCH) {
            match item {
                Ok(item) => {
                    store_pictures(&item, media, &mut stored, &mut errors);
                    batch.push(item);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        products += batch.len();
        if errors.is_empty() {
            check_against_shop(db, &batch, replace, &mut errors).await?;
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        errors.dedup();
        if errors.len() >= MAX_PROBLEMS {
            let last = errors.last().map_or(1, |e| e.line);
            errors.push(LineError {
                line: last,
                column: None,
                message: format!("stopped after {MAX_PROBLEMS} problems"),
            });
        }
        return Err(ImportError::Invalid(errors));
    }
    Ok(CheckedImport {
        products,
        replace,
        base_dir: base_dir.to_path_buf(),
        currency,
        stored,
    })
}

/// Stores a product's picture files (each once) in the media store.
fn store_pictures(
    item: &ImportProduct,
    media: &MediaStore,
    stored: &mut HashMap<PathBuf, super::media::StoredImage>,
    errors: &mut Vec<LineError>,
) {
    for image in &item.images {
        let ImageSource::File(path) = &image.source else {
            continue;
        };
        if stored.contains_key(path) {
            continue;
        }
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| media.store(&bytes).map_err(|e| e.to_string()))
        {
            Ok(picture) => {
                stored.insert(path.clone(), picture);
            }
            Err(message) => errors.push(LineError {
                line: item.line,
                column: Some("Image Src".into()),
                message: format!("{}: {message}", path.display()),
            }),
        }
    }
}

/// Handles the shop has (an error unless replacing) and SKUs another product has.
async fn check_against_shop(
    db: &Db,
    batch: &[ImportProduct],
    replace: bool,
    errors: &mut Vec<LineError>,
) -> Result<(), sqlx::Error> {
    let handles: Vec<&str> = batch.iter().map(|p| p.product.slug.as_str()).collect();
    let existing: HashSet<String> = select_in(
        db.pool(),
        "SELECT slug, slug FROM products WHERE slug IN",
        &handles,
    )
    .await?
    .into_iter()
    .map(|(slug, _)| slug)
    .collect();
    for item in batch {
        if existing.contains(&item.product.slug) && !replace {
            errors.push(LineError {
                line: item.line,
                column: Some("Handle".into()),
                message: format!(
                    "product '{}' already exists (import with --replace to overwrite it)",
                    item.product.slug
                ),
            });
        }
    }
    let skus: Vec<&str> = batch
        .iter()
        .flat_map(|p| p.product.variants.iter().map(|v| v.sku.as_str()))
        .collect();
    // SKU → the handle of the product that has it now.
    let owners: HashMap<String, String> = select_in(
        db.pool(),
        "SELECT v.sku, p.slug FROM variants v JOIN products p ON p.id = v.product_id WHERE v.sku IN",
        &skus,
    )
    .await?
    .into_iter()
    .collect();
    for item in batch {
        for variant in &item.product.variants {
            let owner = owners.get(&variant.sku);
            if owner.is_some_and(|owner| !replace || *owner != item.product.slug) {
                errors.push(LineError {
                    line: item.line,
                    column: Some("Variant SKU".into()),
                    message: format!("SKU '{}' belongs to another product", variant.sku),
                });
            }
        }
    }
    Ok(())
}

/// The second reading: writes the checked file through the shop's writer, in batches of
/// [`import_batch`] products, one transaction each; new products a few statements per batch
/// (see [`super::bulk`]), existing ones (with `replace`) updated in place one by one.
/// `progress` is called with the number of products written so far.
pub async fn write_import(
    db: &Db,
    input: impl Read,
    checked: &CheckedImport,
    mut progress: impl FnMut(usize),
) -> Result<usize, ImportError> {
    let mut reader = ProductReader::new(input, &checked.base_dir, checked.currency)
        .map_err(ImportError::Invalid)?;
    let (total, replace) = (checked.products, checked.replace);
    let now = now_epoch();
    let mut written = 0;
    let batch_size = import_batch(db.backend());
    // After the first batch, then every tenfold.
    let mut analyze_at = batch_size;
    loop {
        let mut batch = Vec::with_capacity(batch_size);
        for item in reader.by_ref().take(batch_size) {
            match item {
                Ok(item) => batch.push(with_stored_pictures(item, &checked.stored)),
                Err(mut e) => {
                    return Err(ImportError::Changed {
                        written,
                        error: e.swap_remove(0),
                    })
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let first_index = written;
        let count = batch.len();
        let result = db
            .writes()
            .run(move |conn| -> JobFuture<'_, Result<(), sqlx::Error>> {
                Box::pin(async move {
                    write_batch(conn, &batch, first_index, now, replace).await?;
                    // Every server, this one included, forgets the pages' data it kept: the
                    // staff's request that started an import has long been answered.
                    crate::catalog_changes::note_catalog_changed(conn).await
                })
            })
            .await;
        if let Err(error) = result {
            tracing::error!(%error, written, total, "an import batch failed");
            return Err(ImportError::Partial {
                written,
                total,
                error,
            });
        }
        written += count;
        progress(written);
        if written >= analyze_at {
            analyze_catalog(db).await;
            analyze_at *= 10;
        }
    }
    // The statistics of the whole catalog, and its search indexes in their final shape,
    // before the shop's searches read them. Not for a file of one batch, whose few entries
    // would not be worth rewriting a large catalog's indexes.
    if written >= batch_size {
        analyze_catalog(db).await;
        tidy_search_indexes(db).await;
    }
    Ok(written)
}

/// Pages of a full-text index one step of [`tidy_search_indexes`] merges: a few tens of
/// milliseconds of the writer each (11 steps for `product_search` at 100,000 products).
const MERGE_PAGES_A_STEP: i64 = 500;

/// Leaves the search indexes an import filled as a search reads them fastest.
///
/// On SQLite, each full-text index is merged into one segment, a step at a time through the
/// writer, so that the shop's own writes go between the steps (0.4 s in all at 100,000
/// products). An import leaves an index of many segments, every one of which a search reads:
/// at 100,000 products a SKU's tier read the doclist of its size ("m") in each, 144 µs against
/// 23 merged, and the four tiers of a SKU's search 0.58 ms against 0.09. FTS5's incremental
/// optimize: a negative page count starts it, positive ones go on with it, and a step that
/// changed fewer than two rows found nothing left to merge. (SQLite before 3.41 added a level
/// to the index at each optimize and broke at 2,000; the bundled 3.46 does not.)
///
/// On Postgres, the GIN indexes' pending lists (up to 4 MB each of entries not yet in the
/// index, which every search reads through) go into the indexes, as autovacuum would do later.
async fn tidy_search_indexes(db: &Db) {
    if db.backend() == Backend::Postgres {
        let cleaned = sqlx::query(
            "SELECT gin_clean_pending_list(indexrelid::regclass) FROM pg_index
              WHERE indrelid = 'product_search'::regclass
                AND indexrelid <> 'product_search_pkey'::regclass",
        )
        .execute(db.pool())
        .await;
        if let Err(error) = cleaned {
            tracing::warn!(%error, "could not clean the search indexes' pending lists after an import");
        }
        return;
    }
    for table in ["product_search", "product_untitled_words"] {
        let mut pages = -MERGE_PAGES_A_STEP;
        loop {
            let step = db
                .writes()
                .run(move |conn| -> JobFuture<'_, Result<bool, sqlx::Error>> {
                    Box::pin(async move {
                        let changes = "SELECT total_changes()";
                        let before: i64 = sqlx::query_scalar(changes).fetch_one(&mut *conn).await?;
                        sqlx::query(&format!(
                            "INSERT INTO {table} ({table}, rank) VALUES ('merge', $1)"
                        ))
                        .bind(pages)
                        .execute(&mut *conn)
                        .await?;
                        let after: i64 = sqlx::query_scalar(changes).fetch_one(&mut *conn).await?;
                        Ok(after - before >= 2)
                    })
                })
                .await;
            match step {
                Ok(true) => pages = MERGE_PAGES_A_STEP,
                Ok(false) => break,
                Err(error) => {
                    // Only the speed of searches depends on it; FTS5 merges as it goes anyway.
                    tracing::warn!(%error, table, "could not merge a full-text index after an import");
                    break;
                }
            }
        }
    }
}

/// Refreshes Postgres's statistics of the tables an import fills. The listing's triggers keep
/// their plans for the session: planned while the tables were nearly empty, a plan that reads
/// a whole table would be kept as it grows (until autovacuum's next look, whenever that is),
/// and a 100,000-product import took anything from 100 to 140 s.
async fn analyze_catalog(db: &Db) {
    if db.backend() != Backend::Postgres {
        return;
    }
    let tables = "products, variants, product_options, collection_products, catalog_listing, \
                  catalog_facets, product_search, product_title_words, product_images, product_cards";
    if let Err(error) = sqlx::query(&format!("ANALYZE {tables}"))
        .execute(db.pool())
        .await
    {
        // Only the speed of the rest of the import depends on it.
        tracing::warn!(%error, "could not analyze the catalog's tables during an import");
    }
}

/// A product with its pictures as the rows to write, files swapped for what the media store
/// made of them in the first reading.
fn with_stored_pictures(
    mut item: ImportProduct,
    stored: &HashMap<PathBuf, super::media::StoredImage>,
) -> ImportProduct {
    for image in std::mem::take(&mut item.images) {
        let new_image = match image.source {
            ImageSource::Address {
                url,
                width,
                height,
                srcset,
                webp_srcset,
            } => NewImage {
                url,
                alt: image.alt,
                width,
                height,
                srcset,
                webp_srcset,
                variant: image.variant,
            },
            // Stored by `check_import`; a file added since is left out.
            ImageSource::File(path) => match stored.get(&path) {
                Some(picture) => NewImage {
                    url: picture.url.clone(),
                    alt: image.alt,
                    width: picture.width,
                    height: picture.height,
                    srcset: Some(picture.srcset.clone()),
                    webp_srcset: Some(picture.webp_srcset.clone()),
                    variant: image.variant,
                },
                None => continue,
            },
        };
        item.product.images.push(new_image);
    }
    item
}

/// One batch, in the caller's transaction. Earlier rows of the file are newer, so the shop's
/// "newest" order follows the file.
async fn write_batch(
    conn: &mut AnyConnection,
    batch: &[ImportProduct],
    first_index: usize,
    now: i64,
    replace: bool,
) -> Result<(), sqlx::Error> {
    let mut lookup = Sql::default();
    lookup
        .push("SELECT slug, id FROM products WHERE slug IN ")
        .bind_list(batch.iter().map(|item| item.product.slug.as_str()));
    let existing: HashMap<String, i64> = lookup
        .query()
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let mut new = Vec::with_capacity(batch.len());
    for (offset, item) in batch.iter().enumerate() {
        match existing.get(&item.product.slug) {
            Some(&id) if replace => replace_existing(conn, id, item, now).await?,
            // Checked before the import began: another writer added it since.
            Some(_) => {
                return Err(sqlx::Error::Protocol(format!(
                    "product '{}' was added while the file was imported",
                    item.product.slug
                )))
            }
            None => new.push(BulkProduct {
                product: &item.product,
                created_at: now - (first_index + offset) as i64,
                collections: &item.collections,
                seo_title: item.seo_title.as_deref(),
                seo_description: item.seo_description.as_deref(),
            }),
        }
    }
    bulk::insert_products(conn, &new, now).await?;
    Ok(())
}

/// An existing product of an import (with `--replace`), updated in place.
async fn replace_existing(
    conn: &mut AnyConnection,
    product_id: i64,
    item: &ImportProduct,
    now: i64,
) -> Result<(), sqlx::Error> {
    replace_product(conn, product_id, &item.product, now).await?;
    if item.seo_title.is_some() || item.seo_description.is_some() {
        sqlx::query("UPDATE products SET seo_title = $1, seo_description = $2 WHERE id = $3")
            .bind(item.seo_title.as_deref())
            .bind(item.seo_description.as_deref())
            .bind(product_id)
            .execute(&mut *conn)
            .await?;
    }
    let slugs: Vec<&str> = item.collections.iter().map(String::as_str).collect();
    let collections = bulk::collection_ids(conn, &slugs, now).await?;
    for slug in &slugs {
        sqlx::query(
            "INSERT INTO collection_products (collection_id, product_id, position)
             SELECT $1, $2, COALESCE(MAX(position) + 1, 0) FROM collection_products WHERE collection_id = $1",
        )
        .bind(collections[slug])
        .bind(product_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Replaces a product's fields, options, pictures, tags and collections with the file's, and
/// its variants by SKU. Variant ids survive, so order lines, reservations and the ledger stay
/// whole; a variant the file drops is archived when anything refers to it, deleted otherwise.
/// Stock the file gives for a known variant is a counted adjustment in the ledger, never below
/// what is reserved for orders.
async fn replace_product(
    conn: &mut AnyConnection,
    product_id: i64,
    product: &NewProduct,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE products SET title = $1, description_md = $2, vendor = $3, product_type = $4, \
         status = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(&product.title)
    .bind(&product.description_md)
    .bind(&product.vendor)
    .bind(&product.product_type)
    .bind(product.status)
    .bind(now)
    .bind(product_id)
    .execute(&mut *conn)
    .await?;
    for table in [
        "product_tags",
        "product_options",
        "product_images",
        "collection_products",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE product_id = $1"))
            .bind(product_id)
            .execute(&mut *conn)
            .await?;
    }
    insert_product_parts(conn, product_id, product).await?;

    // (id, sku, on_hand, reserved) of the variants the product has now, decoded once.
    let mut current: Vec<(i64, String, i64, i64)> = Vec::new();
    for row in sqlx::query("SELECT id, sku, on_hand, reserved FROM variants WHERE product_id = $1")
        .bind(product_id)
        .fetch_all(&mut *conn)
        .await?
    {
        current.push((
            row.try_get("id")?,
            row.try_get("sku")?,
            row.try_get("on_hand")?,
            row.try_get("reserved")?,
        ));
    }
    let mut kept = HashSet::new();
    let mut variant_ids = Vec::with_capacity(product.variants.len());
    let mut counted = Vec::new();
    for (position, variant) in product.variants.iter().enumerate() {
        let found = current
            .iter()
            .find(|(_, sku, _, _)| *sku == variant.sku)
            .map(|(id, _, on_hand, reserved)| (*id, *on_hand, *reserved));
        let option = |i: usize| variant.options.get(i).cloned();
        let id =
            match found {
                Some((id, on_hand, reserved)) => {
                    sqlx::query(
                    "UPDATE variants SET position = $1, option1 = $2, option2 = $3, option3 = $4, \
                     price_amount = $5, compare_at_amount = $6, currency = $7, weight_grams = $8, \
                     backorder = $9, archived_at = NULL, version = version + 1 WHERE id = $10",
                )
                .bind(position as i64)
                .bind(option(0))
                .bind(option(1))
                .bind(option(2))
                .bind(variant.price.amount)
                .bind(variant.compare_at.map(|m| m.amount))
                .bind(variant.price.currency.code().to_string())
                .bind(variant.weight_grams)
                .bind(if variant.allow_backorder { "allow" } else { "deny" })
                .bind(id)
                .execute(&mut *conn)
                .await?;
                    let target = variant.on_hand.max(reserved);
                    if target != on_hand {
                        counted.push(StockMove {
                            variant_id: id,
                            order_id: None,
                            movement: Movement::Adjust(AdjustReason::Counted),
                            quantity: target - on_hand,
                            note: "import".into(),
                            expected_version: None,
                        });
                    }
                    id
                }
                None => insert_variant(conn, product_id, position, variant).await?,
            };
        kept.insert(id);
        variant_ids.push(id);
    }
    inventory::apply(conn, &counted, now)
        .await
        .map_err(|error| match error {
            StockError::Database(error) => error,
            other => sqlx::Error::Protocol(other.to_string()),
        })?;
    for &(id, ..) in &current {
        if kept.contains(&id) {
            continue;
        }
        // Orders and the ledger refer to it: archive. Otherwise it can go.
        sqlx::query(
            "UPDATE variants SET archived_at = $1 WHERE id = $2 AND (\
               EXISTS (SELECT 1 FROM order_lines WHERE variant_id = $2) \
               OR EXISTS (SELECT 1 FROM stock_ledger WHERE variant_id = $2))",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM variants WHERE id = $1 AND archived_at IS NULL")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    insert_images(conn, product_id, &product.images, &variant_ids).await?;
    refresh_search_document(conn, product_id).await
}

/// `SELECT a, b FROM … WHERE x IN` over `values`, in chunks that keep the number of bound
/// parameters under every backend's limit.
async fn select_in(
    pool: &sqlx::AnyPool,
    sql: &str,
    values: &[&str],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in values.chunks(500) {
        let mut statement = Sql::default();
        statement
            .push(sql)
            .push(" ")
            .bind_list(chunk.iter().copied());
        let rows = statement.query().fetch_all(pool).await?;
        for row in rows {
            found.push((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
        }
    }
    Ok(found)
}

/// Writes every product (all statuses) to `out`, in the order of their handles. Returns how
/// many products were written.
pub async fn export_products(db: &Db, out: impl std::io::Write) -> Result<usize, ExportError> {
    let pool = db.pool();
    let products = sqlx::query(
        "SELECT id, slug, title, description_md, vendor, product_type, status, seo_title, seo_description
           FROM products ORDER BY created_at DESC, id",
    )
    .fetch_all(pool).await?;
    let variants = sqlx::query(
        "SELECT id, product_id, sku, option1, option2, option3, price_amount, compare_at_amount,
                currency, weight_grams, on_hand, backorder
           FROM variants ORDER BY product_id, position, id",
    )
    .fetch_all(pool)
    .await?;
    let images = sqlx::query(
        "SELECT product_id, variant_id, url, alt, width, height, srcset, webp_srcset FROM product_images ORDER BY product_id, position, id",
    )
    .fetch_all(pool).await?;
    let options =
        sqlx::query("SELECT product_id, name FROM product_options ORDER BY product_id, position")
            .fetch_all(pool)
            .await?;
    let tags = sqlx::query("SELECT product_id, tag FROM product_tags ORDER BY product_id, tag")
        .fetch_all(pool)
        .await?;
    let memberships = sqlx::query(
        "SELECT cp.product_id, c.slug FROM collection_products cp JOIN collections c ON c.id = cp.collection_id
          ORDER BY cp.product_id, c.slug",
    )
    .fetch_all(pool).await?;

    fn group(
        rows: &[sqlx::any::AnyRow],
    ) -> Result<HashMap<i64, Vec<&sqlx::any::AnyRow>>, sqlx::Error> {
        let mut map: HashMap<i64, Vec<&sqlx::any::AnyRow>> = HashMap::new();
        for row in rows {
            map.entry(row.try_get("product_id")?).or_default().push(row);
        }
        Ok(map)
    }
    let (variants, images, options, tags, memberships) = (
        group(&variants)?,
        group(&images)?,
        group(&options)?,
        group(&tags)?,
        group(&memberships)?,
    );
    let empty = Vec::new();

    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    for product in &products {
        let id: i64 = product.try_get("id")?;
        let own_variants = variants.get(&id).unwrap_or(&empty);
        let own_images = images.get(&id).unwrap_or(&empty);
        let names: Vec<String> = options
            .get(&id)
            .unwrap_or(&empty)
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<Result<_, _>>()?;
        let tag_list: Vec<String> = tags
            .get(&id)
            .unwrap_or(&empty)
            .iter()
            .map(|r| r.try_get("tag"))
            .collect::<Result<_, _>>()?;
        let collection_list: Vec<String> = memberships
            .get(&id)
            .unwrap_or(&empty)
            .iter()
            .map(|r| r.try_get("slug"))
            .collect::<Result<_, _>>()?;
        let slug: String = product.try_get("slug")?;
        for i in 0..own_variants.len().max(own_images.len()) {
            let mut record = vec![String::new(); COLUMNS.len()];
            let mut set = |column: &str, value: String| {
                if let Some(index) = COLUMNS.iter().position(|c| *c == column) {
                    record[index] = value;
                }
            };
            set("Handle", slug.clone());
            if i == 0 {
                set("Title", product.try_get("title")?);
                set("Body (Markdown)", product.try_get("description_md")?);
                set("Vendor", product.try_get("vendor")?);
                set("Type", product.try_get("product_type")?);
                set("Tags", tag_list.join(", "));
                set("Status", product.try_get("status")?);
                set(
                    "SEO Title",
                    product
                        .try_get::<Option<String>, _>("seo_title")?
                        .unwrap_or_default(),
                );
                set(
                    "SEO Description",
                    product
                        .try_get::<Option<String>, _>("seo_description")?
                        .unwrap_or_default(),
                );
                set("Collections", collection_list.join(", "));
                for (n, name) in names.iter().enumerate() {
                    set(&format!("Option{} Name", n + 1), name.clone());
                }
            }
            if let Some(variant) = own_variants.get(i) {
                let currency: String = variant.try_get("currency")?;
                let currency =
                    Currency::parse(&currency).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                for n in 0..names.len() {
                    set(
                        &format!("Option{} Value", n + 1),
                        variant
                            .try_get::<Option<String>, _>(format!("option{}", n + 1).as_str())?
                            .unwrap_or_default(),
                    );
                }
                set("Variant SKU", variant.try_get("sku")?);
                set(
                    "Variant Grams",
                    variant.try_get::<i64, _>("weight_grams")?.to_string(),
                );
                set(
                    "Variant Inventory Qty",
                    variant.try_get::<i64, _>("on_hand")?.to_string(),
                );
                let policy: String = variant.try_get("backorder")?;
                set(
                    "Variant Inventory Policy",
                    if policy == "allow" {
                        "continue"
                    } else {
                        "deny"
                    }
                    .to_string(),
                );
                set(
                    "Variant Price",
                    Money::new(variant.try_get("price_amount")?, currency).plain_number(),
                );
                if let Some(amount) = variant.try_get::<Option<i64>, _>("compare_at_amount")? {
                    set(
                        "Variant Compare At Price",
                        Money::new(amount, currency).plain_number(),
                    );
                }
                set("Variant Currency", currency.code().to_string());
                let variant_id: i64 = variant.try_get("id")?;
                for image in own_images {
                    if image.try_get::<Option<i64>, _>("variant_id")? == Some(variant_id) {
                        set("Variant Image", image.try_get("url")?);
                        break;
                    }
                }
            }
            if let Some(image) = own_images.get(i) {
                set("Image Src", image.try_get("url")?);
                set("Image Position", (i + 1).to_string());
                set("Image Alt Text", image.try_get("alt")?);
                set("Image Width", image.try_get::<i64, _>("width")?.to_string());
                set(
                    "Image Height",
                    image.try_get::<i64, _>("height")?.to_string(),
                );
                set(
                    "Image Srcset",
                    image
                        .try_get::<Option<String>, _>("srcset")?
                        .unwrap_or_default(),
                );
                set(
                    "Image Srcset WebP",
                    image
                        .try_get::<Option<String>, _>("webp_srcset")?
                        .unwrap_or_default(),
                );
            }
            writer.write_record(&record)?;
        }
    }
    writer.flush().map_err(csv::Error::from)?;
    Ok(products.len())
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("cannot write the file: {0}")]
    Write(#[from] csv::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole small file, read into memory.
    fn parse_products(
        input: impl Read,
        base_dir: &Path,
        default_currency: Currency,
    ) -> Result<Vec<ImportProduct>, Vec<LineError>> {
        let mut products = Vec::new();
        let mut errors = Vec::new();
        for item in ProductReader::new(input, base_dir, default_currency)? {
            match item {
                Ok(product) => products.push(product),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(products)
        } else {
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }

    const HEADER: &str = "Handle,Title,Body (Markdown),Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty,Image Src\n";

    fn parse(body: &str) -> Result<Vec<ImportProduct>, Vec<LineError>> {
        parse_products(
            format!("{HEADER}{body}").as_bytes(),
            Path::new("."),
            Currency::EUR,
        )
    }

    #[test]
    fn rows_of_one_handle_become_one_product_with_variants() {
        let products = parse(
            "mug,Mug,Nice,Colour,Blue,MUG-B,12.50,3,/demo/mug-sky.svg\n\
             mug,,,,Red,MUG-R,12.50,0,\n\
             cap,Cap,,,,CAP-1,20,1,\n",
        )
        .unwrap();
        assert_eq!(products.len(), 2);
        let mug = &products[0].product;
        assert_eq!(mug.variants.len(), 2);
        assert_eq!(mug.variants[1].options, vec!["Red"]);
        assert_eq!(mug.variants[0].price, Money::new(1250, Currency::EUR));
        assert_eq!(products[0].images.len(), 1);
        assert!(products[1].product.option_names.is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_column() {
        let errors = parse(
            "Bad Handle,X,,,,S1,1,,\n\
             mug,Mug,,Colour,Blue,MUG-B,twelve,,\n\
             mug,,,,Red,MUG-B,3,-1,\n\
             cap,,,,,CAP,1,,\n",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.contains(&"line 2, column \"Handle\": 'Bad Handle' is not a handle: use lower-case letters, digits and hyphens".to_string()), "{text:#?}");
        assert!(
            text.iter()
                .any(|e| e
                    .starts_with("line 3, column \"Variant Price\": 'twelve' is not an amount")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("line 4, column \"Variant Inventory Qty\"")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("line 5, column \"Title\"")),
            "{text:#?}"
        );
    }

    #[test]
    fn duplicate_skus_and_option_mismatches_are_caught() {
        let errors = parse(
            "mug,Mug,,Colour,Blue,SAME,1,,\n\
             cup,Cup,,,,SAME,1,,\n\
             tea,Tea,,Colour,,TEA-1,1,,\n",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|e| e.contains("SKU 'SAME' is already used on line 2")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("line 4") && e.contains("option name(s)")),
            "{text:#?}"
        );
    }

    #[test]
    fn a_products_rows_must_be_together() {
        let errors = parse(
            "mug,Mug,,,,MUG-1,1,,\n\
             cap,Cap,,,,CAP-1,1,,\n\
             mug,,,,,MUG-2,1,,\n",
        )
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "line 4, column \"Handle\": the rows of product 'mug' must be together: its first row is line 2"
        );
    }

    #[test]
    fn a_quoted_field_over_several_lines_keeps_the_line_numbers_right() {
        let errors =
            parse("mug,Mug,\"Two\n\nparagraphs\",,,MUG-1,1,,\ncap,Cap,,,,CAP-1,x,,\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 5, "{errors:?}");
    }

    #[test]
    fn products_come_one_at_a_time_as_their_rows_end() {
        let file =
            format!("{HEADER}mug,Mug,,,,MUG-1,1,,\nmug,,,,,MUG-2,1,,\ncap,Cap,,,,CAP-1,1,,\n");
        let mut reader =
            ProductReader::new(file.as_bytes(), Path::new("."), Currency::EUR).unwrap();
        let first = reader.next().unwrap().unwrap();
        assert_eq!(first.product.slug, "mug");
        assert_eq!(first.product.variants.len(), 2);
        assert_eq!(reader.next().unwrap().unwrap().product.slug, "cap");
        assert!(reader.next().is_none());
    }

    #[test]
    fn missing_columns_are_named() {
        let errors = parse_products(
            "Handle,Title\nx,X\n".as_bytes(),
            Path::new("."),
            Currency::EUR,
        )
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "line 1, column \"Variant SKU\": this column is missing"
        );
    }

    #[test]
    fn shopify_html_bodies_keep_their_text() {
        assert_eq!(
            html_to_text("<p>Soft &amp; warm.</p><ul><li>Wool</li></ul>"),
            "Soft & warm.\n\nWool"
        );
    }
}
