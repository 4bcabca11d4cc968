//! The admin's catalog pages: product list and editor, collections, CSV import.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::pages::{encode, failure, Flash};
use super::{
    admin_collections, admin_product, admin_products, import_status, ImportJob, PictureEdit,
    ProductEdit, ProductFilter, ProductList, ProductListRow, VariantEdit, PRODUCT_SORTS,
    STOCK_LEVELS,
};
use crate::components::when_loaded;
use crate::time::format_date;

#[component]
pub fn AdminProductsPage() -> impl IntoView {
    let filter = use_query_map().with_untracked(|q| ProductFilter {
        q: q.get("q").unwrap_or_default(),
        status: q.get("status").unwrap_or_default(),
        collection: q.get("collection").unwrap_or_default(),
        stock: q.get("stock").unwrap_or_default(),
        sort: q.get("sort").unwrap_or_default(),
        cursor: q.get("cursor").unwrap_or_default(),
    });
    view! {
        <Title text="Products"/>
        <Flash/>
        <div class="page-heading">
            <h1>"Products"</h1>
            <p class="page-actions">
                <a href="/admin/import">"Import CSV"</a>
                <a href="/admin/products/new" class="button primary">"New product"</a>
            </p>
        </div>
        {when_loaded(async move {
            match admin_products(filter.clone()).await {
                Ok(list) => view! { <ProductTable filter list/> }.into_any(),
                Err(error) => failure(error),
            }
        })}
    }
}

/// The product table's address for `filter` at `cursor` (empty: the first page).
pub(super) fn products_href(filter: &ProductFilter, cursor: &str) -> String {
    let query = [
        ("q", filter.q.as_str()),
        ("status", &filter.status),
        ("collection", &filter.collection),
        ("stock", &filter.stock),
        ("sort", &filter.sort),
        ("cursor", cursor),
    ]
    .iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(key, value)| format!("{key}={}", encode(value)))
    .collect::<Vec<_>>();
    if query.is_empty() {
        "/admin/products".to_string()
    } else {
        format!("/admin/products?{}", query.join("&"))
    }
}

/// The filters, the bulk bar and the rows: one form posts the ticked rows with the action.
#[component]
fn ProductTable(filter: ProductFilter, list: ProductList) -> impl IntoView {
    let here = products_href(&filter, &filter.cursor);
    let next = list.next_cursor.as_ref().map(|cursor| {
        view! { <a href=products_href(&filter, cursor) rel="next" data-testid="next-page">"Next page →"</a> }
    });
    let option = |value: &'static str, label: &'static str, current: &str| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    let collections = list.collections.clone();
    let empty = list.rows.is_empty();
    view! {
        <form method="get" action="/admin/products" class="filters" data-testid="product-filters">
            <label>"Search " <input type="search" name="q" placeholder="Title, handle or SKU" value=filter.q.clone()/></label>
            <label>"Status " <select name="status">
                {option("", "Any", &filter.status)}
                {option("active", "Active", &filter.status)}
                {option("draft", "Draft", &filter.status)}
                {option("archived", "Archived", &filter.status)}
            </select></label>
            <label>"Collection " <select name="collection">
                <option value="">"Any"</option>
                {list.collections.iter().map(|c| view! {
                    <option value=c.slug.clone() selected=filter.collection == c.slug>{c.title.clone()}</option>
                }).collect_view()}
            </select></label>
            <label>"Stock " <select name="stock">
                {option("", "Any", &filter.stock)}
                {STOCK_LEVELS.map(|(value, label)| option(value, label, &filter.stock)).collect_view()}
            </select></label>
            <label>"Sort " <select name="sort">
                {PRODUCT_SORTS.map(|(value, label)| {
                    let current = if filter.sort.is_empty() { "title" } else { filter.sort.as_str() };
                    option(value, label, current)
                }).collect_view()}
            </select></label>
            <button type="submit">"Filter"</button>
        </form>
        {if empty {
            view! { <p data-testid="no-products">"No products match. " <a href="/admin/products">"Show all products"</a></p> }.into_any()
        } else {
            view! {
                <form method="post" action="/admin/products/bulk" id="bulk" class="bulk" data-testid="bulk-form">
                    <input type="hidden" name="back" value=here/>
                    <fieldset class="bulk-bar">
                        <legend>"With the ticked products"</legend>
                        <label>"Action " <select name="action" required>
                            <option value="">"Choose…"</option>
                            <option value="publish">"Publish"</option>
                            <option value="archive">"Archive"</option>
                            <option value="draft">"Set to draft"</option>
                            <option value="add-to-collection">"Add to collection"</option>
                            <option value="remove-from-collection">"Take out of collection"</option>
                            <option value="price">"Change prices by percent"</option>
                        </select></label>
                        <label>"Collection " <select name="collection">
                            <option value="">"—"</option>
                            {collections.into_iter().map(|c| view! { <option value=c.slug>{c.title}</option> }).collect_view()}
                        </select></label>
                        <label>"Percent " <input name="percent" inputmode="decimal" placeholder="-10" size="6"/></label>
                        <button type="submit">"Apply"</button>
                        <output class="bulk-count" data-bulk-count aria-live="polite"></output>
                    </fieldset>
                    <ProductRows rows=list.rows selectable=true/>
                </form>
            }.into_any()
        }}
        {next}
    }
}

/// Products with their status, stock, prices and last edit, each linking to its editor;
/// `selectable` adds a tick box per row for the bulk form around the table.
#[component]
pub(super) fn ProductRows(rows: Vec<ProductListRow>, selectable: bool) -> impl IntoView {
    view! {
        <table class="admin-table products" data-testid="product-table">
            <thead><tr>
                {selectable.then(|| view! {
                    <th scope="col" class="pick">
                        <input type="checkbox" data-select-all hidden aria-label="Tick every product on this page"/>
                    </th>
                })}
                <th scope="col">"Product"</th><th scope="col">"Status"</th>
                <th scope="col">"Inventory"</th><th scope="col">"Price"</th><th scope="col">"Edited"</th>
            </tr></thead>
            <tbody>{rows.into_iter().map(|row| view! { <ProductLine row selectable/> }).collect_view()}</tbody>
        </table>
    }
}

#[component]
fn ProductLine(row: ProductListRow, selectable: bool) -> impl IntoView {
    let inventory = if row.variants == 0 {
        "No variants".to_string()
    } else if row.available <= 0 {
        format!("Out of stock · {} variants", row.variants)
    } else {
        format!("{} available · {} variants", row.available, row.variants)
    };
    let price = row.prices.map(|(low, high)| {
        if low == high {
            low.to_string()
        } else {
            format!("{low} – {high}")
        }
    });
    let pick = format!("pick-{}", row.id);
    view! {
        <tr data-testid="product-row" class:out=row.available <= 0>
            {selectable.then(|| view! {
                <td class="pick">
                    <input type="checkbox" id=pick.clone() name="product" value=row.id.to_string()/>
                    <label for=pick class="visually-hidden">{format!("Tick {}", row.title)}</label>
                </td>
            })}
            <td class="product-cell">
                {row.picture.map(|url| view! { <img src=url alt="" width="40" height="40" loading="lazy"/> })}
                <span><a href=format!("/admin/products/{}", row.id)>{row.title.clone()}</a><small>{row.slug}</small></span>
            </td>
            <td><span class=format!("status status-{}", row.status)>{row.status.clone()}</span></td>
            <td>{inventory}</td>
            <td>{price}</td>
            <td>{format_date(row.updated_at)}</td>
        </tr>
    }
}

#[component]
pub fn AdminProductPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("product")
        .unwrap_or_default();
    view! {
        <Flash/>
        {when_loaded(async move {
            let product = match id.parse::<i64>() {
                Ok(id) => admin_product(id).await.map(Some),
                // `/admin/products/new`: an empty form.
                Err(_) => Ok(None),
            };
            match product {
                Ok(product) => view! { <ProductEditor product/> }.into_any(),
                Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
            }
        })}
    }
}

#[component]
fn ProductEditor(product: Option<ProductEdit>) -> impl IntoView {
    let action = product
        .as_ref()
        .map(|p| format!("/admin/products/{}", p.id))
        .unwrap_or_else(|| "/admin/products".into());
    let p = product.clone().unwrap_or(ProductEdit {
        id: 0,
        title: String::new(),
        slug: String::new(),
        description_md: String::new(),
        vendor: String::new(),
        product_type: String::new(),
        status: "draft".into(),
        seo_title: String::new(),
        seo_description: String::new(),
        tags: String::new(),
        final_sale: false,
        option_names: vec![],
        variants: vec![],
        images: vec![],
    });
    let heading = if product.is_some() {
        p.title.clone()
    } else {
        "New product".into()
    };
    let existing = product.is_some();
    view! {
        <Title text=heading.clone()/>
        <h1>{heading}</h1>
        {existing.then(|| view! { <p><a href=format!("/products/{}", p.slug)>"View in the shop"</a></p> })}
        <form method="post" action=action class="stacked wide" data-testid="product-form">
            <label for="title">"Title"</label><input id="title" name="title" value=p.title.clone() required/>
            <label for="slug">"Handle (address)"</label><input id="slug" name="slug" value=p.slug.clone() required/>
            <label for="status">"Status"</label>
            <select id="status" name="status">
                {["draft", "active", "archived"].map(|s| view! { <option value=s selected=p.status == s>{s}</option> }).collect_view()}
            </select>
            <label for="description">"Description (Markdown)"</label>
            <textarea id="description" name="description_md" rows="8">{p.description_md.clone()}</textarea>
            <label for="vendor">"Vendor"</label><input id="vendor" name="vendor" value=p.vendor.clone()/>
            <label for="type">"Type"</label><input id="type" name="product_type" value=p.product_type.clone()/>
            <label for="tags">"Tags (comma-separated)"</label><input id="tags" name="tags" value=p.tags.clone()/>
            <label class="checkbox"><input type="checkbox" name="final_sale" checked=p.final_sale/>" Final sale (cannot be returned)"</label>
            <label for="seo-title">"SEO title"</label><input id="seo-title" name="seo_title" value=p.seo_title.clone()/>
            <label for="seo-description">"SEO description"</label><input id="seo-description" name="seo_description" value=p.seo_description.clone()/>
            <button type="submit" class="primary">{if existing { "Save product" } else { "Create product" }}</button>
        </form>
        {existing.then(|| {
            let generate_placeholder = "Size: S, M, L\nColour: Navy, Forest";
            let current_options = current_options(&p.option_names, &p.variants);
            view! {
                <section aria-labelledby="variants-heading" class="editor-block">
                    <h2 id="variants-heading">"Variants"</h2>
                    <VariantGrid product=p.id options=p.option_names.clone() variants=p.variants.clone()/>
                    <details class="generate" data-testid="generate-variants">
                        <summary>"Generate variants from options"</summary>
                        <form method="post" action=format!("/admin/products/{}/variants/generate", p.id) class="stacked wide">
                            <label for="gen-options">"Options, one per line"</label>
                            <textarea id="gen-options" name="options" rows="3" placeholder=generate_placeholder aria-describedby="gen-hint" required>{current_options}</textarea>
                            <p class="hint" id="gen-hint">"Every combination the product does not have yet is added, with no stock, at the price below."</p>
                            <label for="gen-price">"Price of the new variants"</label>
                            <input id="gen-price" name="price" inputmode="decimal" required/>
                            <label for="gen-prefix">"SKU prefix"</label>
                            <input id="gen-prefix" name="sku_prefix" placeholder=p.slug.to_uppercase()/>
                            <button type="submit">"Generate missing variants"</button>
                        </form>
                    </details>
                    <details class="generate">
                        <summary>"Add one variant"</summary>
                        <form method="post" action=format!("/admin/products/{}/variants", p.id) class="inline-fields">
                            <label>"SKU " <input name="sku" required/></label>
                            <label>"Options " <input name="options" placeholder="M / Forest"/></label>
                            <label>"Price " <input name="price" inputmode="decimal" required/></label>
                            <button type="submit">"Add variant"</button>
                        </form>
                    </details>
                </section>
                <section aria-labelledby="pictures-heading" class="editor-block">
                    <h2 id="pictures-heading">"Pictures"</h2>
                    <Pictures product=p.id pictures=p.images.clone()/>
                    <form method="post" action=format!("/admin/products/{}/images", p.id) enctype="multipart/form-data" class="inline-fields">
                        <label>"Picture " <input type="file" name="picture" accept="image/jpeg,image/png,image/gif,image/webp" required/></label>
                        <label>"Description (alt text) " <input name="alt"/></label>
                        <button type="submit">"Upload"</button>
                    </form>
                </section>
            }
        })}
    }
}

/// The product's options with the values its variants have, as the generator reads them
/// ("Size: S, M"), so adding a value is typing it at the end of its line.
fn current_options(names: &[String], variants: &[VariantEdit]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let mut values: Vec<&str> = Vec::new();
            for v in variants.iter().filter(|v| !v.archived) {
                if let Some(value) = v.options.get(n) {
                    if !values.contains(&value.as_str()) {
                        values.push(value);
                    }
                }
            }
            format!("{name}: {}", values.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The variants as one form: a row each, every field editable, saved together; remove buttons
/// post their own forms (below the grid, as forms cannot nest).
#[component]
fn VariantGrid(product: i64, options: Vec<String>, variants: Vec<VariantEdit>) -> impl IntoView {
    let (live, archived): (Vec<_>, Vec<_>) = variants.into_iter().partition(|v| !v.archived);
    let option_count = options.len();
    let ids: Vec<i64> = live.iter().chain(&archived).map(|v| v.id).collect();
    let empty = live.is_empty();
    view! {
        <form id="variant-grid" method="post" action=format!("/admin/products/{product}/variants/grid") data-testid="variant-grid">
            <input type="hidden" name="option_count" value=option_count.to_string()/>
            <div class="table-scroll">
                <table class="admin-table variant-grid">
                    <thead><tr>
                        {options.iter().map(|name| view! { <th scope="col">{name.clone()}</th> }).collect_view()}
                        <th scope="col">"SKU"</th><th scope="col">"Price"</th><th scope="col">"Compare at"</th>
                        <th scope="col">"Weight (g)"</th><th scope="col">"Alert at"</th><th scope="col">"Backorders"</th>
                        <th scope="col">"Stock"</th><th scope="col"><span class="visually-hidden">"Remove"</span></th>
                    </tr></thead>
                    <tbody>{live.into_iter().map(|v| view! { <GridRow v option_count/> }).collect_view()}</tbody>
                </table>
            </div>
            {(!empty).then(|| view! {
                <fieldset class="bulk-bar">
                    <legend>"For every variant (leave empty to keep each row's)"</legend>
                    <label>"Price " <input name="all_price" inputmode="decimal" size="8"/></label>
                    <label>"Stock on hand " <input name="all_stock" inputmode="numeric" size="6"/></label>
                </fieldset>
                <button type="submit" class="primary">"Save variants"</button>
            })}
        </form>
        {(!archived.is_empty()).then(|| view! {
            <h3>"Archived variants"</h3>
            <p class="hint">"Out of the shop, kept for the orders and stock history that refer to them."</p>
            <ul class="archived-variants">
                {archived.into_iter().map(|v| view! {
                    <li>
                        {format!("{} ({})", v.sku, v.options.join(" / "))}" "
                        <button type="submit" form=format!("remove-{}", v.id) name="intent" value="restore">{format!("Restore {}", v.sku)}</button>
                    </li>
                }).collect_view()}
            </ul>
        })}
        {ids.into_iter().map(|id| view! {
            <form id=format!("remove-{id}") method="post" action=format!("/admin/variants/{id}/remove") hidden></form>
        }).collect_view()}
    }
}

#[component]
fn GridRow(v: VariantEdit, option_count: usize) -> impl IntoView {
    let id = v.id;
    let name = |field: &str| format!("v{id}.{field}");
    let label = {
        let sku = v.sku.clone();
        move |what: &str| format!("{what} of {sku}")
    };
    view! {
        <tr data-testid="variant-row">
            {(0..option_count).map(|n| view! {
                <td><input name=name(&format!("option{}", n + 1)) value=v.options.get(n).cloned().unwrap_or_default() size="8" aria-label=label(&format!("Option {}", n + 1))/></td>
            }).collect_view()}
            <td>
                <input type="hidden" name="row" value=id.to_string()/>
                <input type="hidden" name=name("version") value=v.version.to_string()/>
                <input name=name("sku") value=v.sku.clone() size="14" aria-label=label("SKU") required/>
            </td>
            <td><input name=name("price") value=v.price.clone() size="8" inputmode="decimal" aria-label=label("Price") required/></td>
            <td><input name=name("compare_at") value=v.compare_at.clone() size="8" inputmode="decimal" aria-label=label("Compare-at price")/></td>
            <td><input name=name("weight_grams") value=v.weight_grams.to_string() size="6" inputmode="numeric" aria-label=label("Weight")/></td>
            <td><input name=name("threshold") value=v.threshold.to_string() size="4" inputmode="numeric" aria-label=label("Low-stock alert")/></td>
            <td><input type="checkbox" name=name("allow_backorder") checked=v.allow_backorder aria-label=label("Backorders")/></td>
            <td><a href=format!("/admin/variants/{id}")>{format!("{} on hand", v.on_hand)}{(v.reserved > 0).then(|| format!(", {} reserved", v.reserved))}</a></td>
            <td>
                <button type="submit" form=format!("remove-{id}") class="danger" aria-label=format!("Remove {}", v.sku)
                    data-confirm=format!("Remove {}? It is archived instead if orders refer to it.", v.sku)>"Remove"</button>
            </td>
        </tr>
    }
}

/// The pictures in order: a number each (a drag in the browser renumbers them and saves),
/// and a delete button posting its own form.
#[component]
fn Pictures(product: i64, pictures: Vec<PictureEdit>) -> impl IntoView {
    let count = pictures.len();
    let ids: Vec<i64> = pictures.iter().map(|p| p.id).collect();
    if count == 0 {
        return view! { <p class="hint">"No pictures yet."</p> }.into_any();
    }
    view! {
        <form method="post" action=format!("/admin/products/{product}/images/order") data-testid="picture-order">
            <ol class="picture-list" data-sortable>
                {pictures.into_iter().enumerate().map(|(n, picture)| {
                    let position = n + 1;
                    view! {
                        <li draggable="true" data-testid="picture">
                            <img src=picture.url alt=picture.alt width=96 height=96/>
                            <label>"Position " <input name=format!("position.{}", picture.id) value=position.to_string() size="3" inputmode="numeric"/></label>
                            <button type="submit" form=format!("remove-picture-{}", picture.id) class="danger"
                                aria-label=format!("Delete picture {position}") data-confirm="Delete this picture?">"Delete"</button>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <button type="submit">"Save order"</button>
        </form>
        {ids.into_iter().map(|id| view! {
            <form id=format!("remove-picture-{id}") method="post" action=format!("/admin/images/{id}/remove") hidden></form>
        }).collect_view()}
    }
    .into_any()
}

#[component]
pub fn AdminCollectionsPage() -> impl IntoView {
    view! {
        <Title text="Collections"/>
        <Flash/>
        <h1>"Collections"</h1>
        <p class="hint">"Products are listed by handle, one per line, in the order the collection shows them."</p>
        {when_loaded(async move {
                match admin_collections().await {
                    Ok(list) => list.into_iter().map(|c| view! {
                        <form method="post" action="/admin/collections" class="stacked wide">
                            <h2>{c.title.clone()}</h2>
                            <input type="hidden" name="slug" value=c.slug.clone()/>
                            <label>"Title " <input name="title" value=c.title.clone()/></label>
                            <textarea name="products" rows="6" aria-label=format!("Products of {}", c.title)>{c.handles.join("\n")}</textarea>
                            <div class="form-actions">
                                <button type="submit">"Save order"</button>
                                <button type="submit" name="intent" value="delete" class="danger"
                                    data-confirm=format!("Delete the collection {}? Its products stay in the shop.", c.title)>{format!("Delete {}", c.title)}</button>
                            </div>
                        </form>
                    }).collect_view().into_any(),
                    Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                }
        })}
        <h2>"New collection"</h2>
        <form method="post" action="/admin/collections" class="stacked wide">
            <label>"Title " <input name="title" required/></label>
            <label>"Handle " <input name="slug" required/></label>
            <textarea name="products" rows="4" aria-label="Products of the new collection"></textarea>
            <button type="submit" class="primary">"Create collection"</button>
        </form>
    }
}

#[component]
pub fn AdminImportPage() -> impl IntoView {
    view! {
        <Title text="Import products"/>
        <Flash/>
        <h1>"Import products from CSV"</h1>
        <p class="hint">"The same columns as " <code>"kassa import"</code> " (Shopify-like). The whole file is checked first: nothing is imported unless every line is right."</p>
        <form method="post" action="/admin/import" enctype="multipart/form-data" class="stacked">
            <label>"CSV file " <input type="file" name="file" accept=".csv,text/csv" required/></label>
            <label><input type="checkbox" name="replace"/>" Replace products whose handle exists"</label>
            <button type="submit" class="primary">"Import"</button>
        </form>
    }
}

#[component]
pub fn AdminImportJobPage() -> impl IntoView {
    let job = use_params_map()
        .read_untracked()
        .get("job")
        .unwrap_or_default();
    view! {
        <Title text="Import"/>
        <h1>"Import"</h1>
        {when_loaded(async move {
            match import_status(job.clone()).await {
                Ok(initial) => view! { <ImportProgress initial/> }.into_any(),
                Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
            }
        })}
    }
}

/// Where an import job stands; `public/admin.js` fetches the page again every half second and
/// swaps this in until the job has finished.
#[component]
fn ImportProgress(initial: ImportJob) -> impl IntoView {
    let s = initial;
    let summary = match (s.finished, s.errors.is_empty()) {
        (true, true) => format!("Done: {} products imported.", s.imported),
        (true, false) => "The import failed; nothing was changed.".to_string(),
        (false, _) => format!("{} of {} products…", s.done, s.total),
    };
    view! {
        <div data-testid="import-progress" data-import-progress data-finished=s.finished.to_string() aria-live="polite">
            <progress max=s.total.to_string() value=s.done.to_string()></progress>
            <p>{summary}</p>
            <ul class="errors">{s.errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
        </div>
    }
}
