//! The demo catalog: a small outdoor-and-home shop, so a new install shows a real store at once.
//!
//! Pictures are the SVGs under `public/demo/`, drawn by `scripts/demo_images.py`; the kinds and
//! colours here must be among the ones that script draws.

use super::ssr::{insert_collection, insert_product, NewImage, NewProduct, NewVariant};
use crate::db::{now_epoch, Db};
use crate::money::{Currency, Money};

/// A family of products that share a picture, options and a price level.
struct Kind {
    picture: &'static str,
    product_type: &'static str,
    sizes: &'static [&'static str],
    weight_grams: i64,
    care: &'static str,
}

const APPAREL_SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
const ONE_SIZE: &[&str] = &[];

const TEE: Kind = Kind {
    picture: "tee",
    product_type: "T-shirt",
    sizes: APPAREL_SIZES,
    weight_grams: 180,
    care: "Machine wash at 30 °C, inside out. Do not tumble dry.",
};
const HOODIE: Kind = Kind {
    picture: "hoodie",
    product_type: "Hoodie",
    sizes: APPAREL_SIZES,
    weight_grams: 620,
    care: "Machine wash at 30 °C. Dry flat to keep its shape.",
};
const SWEATER: Kind = Kind {
    picture: "sweater",
    product_type: "Sweater",
    sizes: APPAREL_SIZES,
    weight_grams: 480,
    care: "Hand wash cold or use the wool cycle. Dry flat.",
};
const CAP: Kind = Kind {
    picture: "cap",
    product_type: "Cap",
    sizes: ONE_SIZE,
    weight_grams: 90,
    care: "Spot clean with a damp cloth.",
};
const BEANIE: Kind = Kind {
    picture: "beanie",
    product_type: "Beanie",
    sizes: ONE_SIZE,
    weight_grams: 80,
    care: "Hand wash cold. Dry flat.",
};
const TOTE: Kind = Kind {
    picture: "tote",
    product_type: "Bag",
    sizes: ONE_SIZE,
    weight_grams: 220,
    care: "Machine wash at 30 °C.",
};
const BACKPACK: Kind = Kind {
    picture: "backpack",
    product_type: "Bag",
    sizes: ONE_SIZE,
    weight_grams: 850,
    care: "Wipe clean; reproof the canvas once a year.",
};
const MUG: Kind = Kind {
    picture: "mug",
    product_type: "Mug",
    sizes: ONE_SIZE,
    weight_grams: 380,
    care: "Dishwasher and microwave safe.",
};
const BOTTLE: Kind = Kind {
    picture: "bottle",
    product_type: "Bottle",
    sizes: ONE_SIZE,
    weight_grams: 340,
    care: "Hand wash. Keeps drinks cold for 24 hours, hot for 12.",
};
const NOTEBOOK: Kind = Kind {
    picture: "notebook",
    product_type: "Notebook",
    sizes: ONE_SIZE,
    weight_grams: 260,
    care: "192 pages of 100 g/m² paper that takes fountain pens.",
};
const POSTER: Kind = Kind {
    picture: "poster",
    product_type: "Print",
    sizes: &["A3", "A2"],
    weight_grams: 150,
    care: "Giclée print on 230 g/m² matte paper; frame not included.",
};
const SOCKS: Kind = Kind {
    picture: "socks",
    product_type: "Socks",
    sizes: &["36–40", "41–46"],
    weight_grams: 70,
    care: "Machine wash at 40 °C.",
};
const SCARF: Kind = Kind {
    picture: "scarf",
    product_type: "Scarf",
    sizes: ONE_SIZE,
    weight_grams: 160,
    care: "Hand wash cold. Dry flat.",
};
const CANDLE: Kind = Kind {
    picture: "candle",
    product_type: "Candle",
    sizes: ONE_SIZE,
    weight_grams: 420,
    care: "Burns for about 45 hours. Trim the wick before lighting.",
};
const POT: Kind = Kind {
    picture: "pot",
    product_type: "Planter",
    sizes: &["Small", "Large"],
    weight_grams: 900,
    care: "Frost-proof stoneware with a drainage hole.",
};

struct DemoProduct {
    title: &'static str,
    kind: &'static Kind,
    colours: &'static [&'static str],
    /// Price in euro cents.
    price: i64,
    compare_at: Option<i64>,
    blurb: &'static str,
    tags: &'static [&'static str],
}

const fn p(
    title: &'static str,
    kind: &'static Kind,
    colours: &'static [&'static str],
    price: i64,
    blurb: &'static str,
    tags: &'static [&'static str],
) -> DemoProduct {
    DemoProduct {
        title,
        kind,
        colours,
        price,
        compare_at: None,
        blurb,
        tags,
    }
}

const fn sale(mut product: DemoProduct, compare_at: i64) -> DemoProduct {
    product.compare_at = Some(compare_at);
    product
}

#[rustfmt::skip]
const PRODUCTS: &[DemoProduct] = &[
    p("Everyday Organic Tee", &TEE, &["white", "black", "navy", "sage"], 2400, "A mid-weight tee in organic cotton with a relaxed fit that keeps its shape wash after wash.", &["organic", "bestseller"]),
    p("Trailhead Pocket Tee", &TEE, &["forest", "sand", "charcoal"], 2900, "Heavier jersey and a chest pocket, made for long days outside.", &["outdoor"]),
    sale(p("Harbour Striped Tee", &TEE, &["navy", "cream"], 3200, "Breton-inspired stripes knitted into soft combed cotton.", &["classic"]), 3900),
    p("Summit Merino Tee", &TEE, &["charcoal", "slate", "rust"], 5900, "Fine merino wool that stays fresh for days on the trail.", &["merino", "outdoor"]),
    p("Studio Boxy Tee", &TEE, &["mustard", "white", "rose"], 2700, "A cropped boxy cut in dense cotton, garment dyed for a lived-in colour.", &["new"]),
    p("Long Weekend Tee", &TEE, &["sky", "sand"], 2600, "Slub cotton, a little textured, for unhurried days.", &[]),
    p("Ridge Fleece Hoodie", &HOODIE, &["forest", "charcoal", "rust"], 7900, "Brushed-back fleece, a lined hood and a kangaroo pocket.", &["outdoor", "bestseller"]),
    p("Campus Zip Hoodie", &HOODIE, &["navy", "black"], 6900, "A full-zip hoodie with metal hardware and ribbed cuffs.", &["classic"]),
    sale(p("Dune Washed Hoodie", &HOODIE, &["sand", "sage", "rose"], 6400, "Stone-washed loopback cotton for a soft, broken-in feel.", &["new"]), 7900),
    p("Nordic Lambswool Sweater", &SWEATER, &["cream", "navy", "forest"], 8900, "Lambswool knitted on vintage machines; warm without bulk.", &["wool"]),
    p("Fisherman Rib Sweater", &SWEATER, &["cream", "charcoal"], 9900, "A chunky rib knit with a high neck, for the coldest mornings.", &["wool", "classic"]),
    p("Café Crew Sweater", &SWEATER, &["mustard", "olive", "slate"], 6900, "A light cotton-cashmere blend, easy to layer.", &[]),
    sale(p("Alpine Half-Zip", &SWEATER, &["rust", "navy"], 7400, "Recycled wool blend with a half zip and a stand collar.", &["outdoor", "recycled"]), 8900),
    p("Six-Panel Canvas Cap", &CAP, &["sand", "navy", "olive", "black"], 2400, "Waxed canvas, a curved brim and a brass buckle.", &["outdoor"]),
    p("Washed Dad Cap", &CAP, &["rose", "sky", "white"], 2200, "Soft unstructured cotton twill, washed for a faded look.", &[]),
    p("Trail Running Cap", &CAP, &["black", "slate"], 2800, "Featherlight ripstop that dries in minutes.", &["outdoor", "new"]),
    p("Merino Rib Beanie", &BEANIE, &["charcoal", "mustard", "forest", "rust"], 2900, "Soft merino in a deep rib with a generous turn-up.", &["merino", "bestseller"]),
    p("Harbour Watch Cap", &BEANIE, &["navy", "cream"], 2600, "A short fisherman beanie in thick lambswool.", &["wool", "classic"]),
    p("Pom Pom Beanie", &BEANIE, &["rose", "sky", "white"], 3200, "A chunky knit topped with a recycled-yarn pom pom.", &["recycled"]),
    p("Market Tote", &TOTE, &["cream", "black", "sage"], 1900, "Heavy canvas with long handles that go over a winter coat.", &["bestseller"]),
    p("Library Tote", &TOTE, &["navy", "terracotta"], 2400, "A boxy tote with an inner pocket and a snap closure.", &[]),
    sale(p("Beach Day Tote", &TOTE, &["sky", "mustard"], 2200, "Extra wide, water-resistant, shakes sand off easily.", &["summer"]), 2900),
    p("Commuter Roll-Top Backpack", &BACKPACK, &["black", "olive", "slate"], 11900, "Waterproof roll-top with a padded laptop sleeve for 16-inch machines.", &["outdoor", "bestseller"]),
    p("Daypack 18", &BACKPACK, &["forest", "rust", "navy"], 8900, "An 18-litre pack with a hip belt, bottle pockets and a lifetime warranty.", &["outdoor"]),
    p("Mini City Backpack", &BACKPACK, &["rose", "sand"], 6900, "Small enough for a café table, big enough for a tablet.", &["new"]),
    p("Stoneware Mug", &MUG, &["cream", "slate", "terracotta", "sage"], 1800, "Hand-glazed stoneware holding 350 ml; no two are quite alike.", &["home", "bestseller"]),
    p("Enamel Camp Mug", &MUG, &["white", "navy", "forest"], 1400, "Steel with a chip-resistant enamel coat. Goes on the camp stove.", &["outdoor"]),
    p("Double-Walled Latte Mug", &MUG, &["black", "sand"], 2200, "Keeps coffee hot for longer and your hands cool.", &["home"]),
    sale(p("Espresso Cup Pair", &MUG, &["rust", "mustard"], 1900, "Two 90 ml cups in speckled stoneware.", &["home", "gift"]), 2600),
    p("Insulated Bottle 750 ml", &BOTTLE, &["forest", "black", "sky", "rust"], 3400, "Vacuum-insulated steel with a leak-proof lid.", &["outdoor", "bestseller"]),
    p("Glass Bottle with Sleeve", &BOTTLE, &["sage", "rose"], 2400, "Borosilicate glass in a silicone sleeve; nothing tastes of metal.", &["home"]),
    p("Trail Flask 500 ml", &BOTTLE, &["slate", "mustard"], 2900, "A slim flask that fits a bike cage.", &["outdoor", "new"]),
    p("Dot Grid Notebook A5", &NOTEBOOK, &["black", "navy", "forest", "terracotta"], 1600, "Lay-flat binding, numbered pages and a ribbon marker.", &["stationery", "bestseller"]),
    p("Field Notes Pocket Set", &NOTEBOOK, &["sand", "olive"], 1200, "Three pocket notebooks with tough kraft covers.", &["stationery", "outdoor"]),
    p("Linen Journal", &NOTEBOOK, &["cream", "sage", "rose"], 2600, "Linen-bound with plain pages and a soft cover that ages well.", &["stationery", "gift"]),
    sale(p("Weekly Planner", &NOTEBOOK, &["mustard", "sky"], 1800, "Undated weekly spreads for a whole year.", &["stationery"]), 2400),
    p("Mountain Dawn Print", &POSTER, &["rust", "sky"], 3500, "A quiet sunrise over the ridge, printed with archival inks.", &["art", "home"]),
    p("Forest Floor Print", &POSTER, &["forest", "sage"], 3500, "Ferns and moss in layered greens.", &["art", "home"]),
    p("Coastline Print", &POSTER, &["navy", "sand"], 3500, "A minimal map of the northern coast.", &["art", "home", "new"]),
    p("Desert Night Print", &POSTER, &["terracotta", "charcoal"], 3900, "Dunes under a low moon, in warm earth tones.", &["art"]),
    p("Merino Hiking Socks", &SOCKS, &["charcoal", "forest", "rust"], 1900, "Cushioned underfoot, thin over the top, seamless toes.", &["merino", "outdoor", "bestseller"]),
    p("Everyday Rib Socks", &SOCKS, &["white", "black", "mustard", "rose"], 1200, "Organic cotton rib that stays up all day.", &["organic"]),
    sale(p("Cabin Wool Socks", &SOCKS, &["cream", "slate"], 1600, "Thick ragg wool for boots and cold floors.", &["wool"]), 2200),
    p("Lambswool Scarf", &SCARF, &["navy", "mustard", "charcoal"], 4900, "Woven in Scotland, brushed for softness.", &["wool", "gift"]),
    p("Lightweight Linen Scarf", &SCARF, &["sand", "sky", "sage"], 3900, "Washed linen, for spring evenings.", &["summer"]),
    p("Chunky Knit Scarf", &SCARF, &["cream", "rust"], 5400, "An oversized knit to wrap twice.", &["wool", "new"]),
    p("Cedar & Smoke Candle", &CANDLE, &["charcoal", "sand"], 3200, "Soy wax with cedarwood, vetiver and a hint of campfire.", &["home", "gift", "bestseller"]),
    p("Fig Leaf Candle", &CANDLE, &["sage", "cream"], 3200, "Green fig, cassis and warm woods.", &["home", "gift"]),
    p("Sea Salt Candle", &CANDLE, &["sky", "white"], 2900, "Fresh, mineral, with a little driftwood.", &["home", "summer"]),
    sale(p("Amber Evening Candle", &CANDLE, &["mustard", "terracotta"], 2700, "Amber, vanilla and tonka in a reusable glass.", &["home"]), 3400),
    p("Speckled Planter", &POT, &["cream", "charcoal", "sage"], 2800, "Speckled stoneware with a matching saucer.", &["home", "plants"]),
    p("Terracotta Classic Pot", &POT, &["terracotta"], 1600, "Unglazed clay that lets roots breathe.", &["home", "plants", "bestseller"]),
    p("Ribbed Ceramic Planter", &POT, &["white", "rose", "slate"], 3400, "A fluted planter with a soft matte glaze.", &["home", "plants", "new"]),
    p("Hanging Planter", &POT, &["mustard", "olive"], 2600, "Ceramic bowl with a cotton macramé hanger.", &["home", "plants"]),
    p("Sunday Market Tee", &TEE, &["terracotta", "olive"], 2500, "A soft everyday tee in plant-dyed cotton.", &["organic", "new"]),
    p("Harbour Fleece Vest Hoodie", &HOODIE, &["slate", "cream"], 7200, "A sleeveless fleece hoodie for mild trail days.", &["outdoor"]),
    p("Lighthouse Graphic Tee", &TEE, &["white", "sky"], 2800, "A hand-drawn lighthouse screen printed with water-based inks.", &["art", "new"]),
    p("Wildflower Tee", &TEE, &["cream", "rose", "sage"], 2800, "Pressed-flower print on soft organic cotton.", &["organic", "summer"]),
    sale(p("Ringer Tee", &TEE, &["white", "navy"], 2200, "A retro ringer with contrast collar and cuffs.", &["classic"]), 2900),
    p("Heavyweight Pocket Tee", &TEE, &["black", "olive", "sand"], 3400, "A 240 g/m² jersey that gets better every wash.", &["bestseller"]),
    p("Linen Blend Tee", &TEE, &["sand", "sky", "white"], 3600, "Cool linen and cotton for the hottest days.", &["summer"]),
    p("Long Sleeve Henley", &TEE, &["charcoal", "rust", "cream"], 3900, "Three-button placket, waffle knit, long sleeves.", &["classic"]),
    p("Night Swim Tee", &TEE, &["navy", "black"], 2600, "A quiet wave print glowing faintly in the dark.", &["art", "new"]),
    p("Harbour Hooded Sweat", &HOODIE, &["navy", "cream"], 7400, "Heavy French terry with a drawstring hood.", &["classic"]),
    p("Storm Shell Hoodie", &HOODIE, &["black", "olive"], 9900, "A water-resistant hoodie for drizzle and wind.", &["outdoor", "new"]),
    p("Recycled Fleece Pullover", &HOODIE, &["sage", "mustard"], 6900, "Made from 30 recycled bottles, pilling-resistant.", &["recycled", "outdoor"]),
    p("Cable Knit Cardigan", &SWEATER, &["cream", "forest"], 10900, "Horn buttons, deep pockets, a classic cable.", &["wool", "classic"]),
    p("Mohair Blend Sweater", &SWEATER, &["rose", "sky"], 9400, "Airy mohair blend that is warm and light.", &["wool", "new"]),
    sale(p("Everyday Crew Sweatshirt", &SWEATER, &["charcoal", "sand", "navy"], 4900, "Loopback cotton crew, the one you wear all week.", &["bestseller"]), 5900),
    p("Corduroy Cap", &CAP, &["rust", "olive"], 2600, "Fine-wale corduroy with a leather strap.", &["classic"]),
    p("Sun Bucket Hat", &CAP, &["sand", "sky"], 2900, "Packable cotton bucket hat with UPF 50.", &["summer", "outdoor"]),
    p("Fisherman Beanie", &BEANIE, &["slate", "terracotta"], 2700, "A shallow fit that sits above the ears.", &["classic"]),
    p("Recycled Wool Beanie", &BEANIE, &["forest", "black"], 2500, "Spun from reclaimed wool offcuts.", &["recycled", "wool"]),
    p("Canvas Weekender", &BACKPACK, &["sand", "navy"], 13900, "A 40-litre holdall with a shoe compartment.", &["outdoor", "gift"]),
    p("Cycling Pannier Pack", &BACKPACK, &["black", "mustard"], 12400, "Clips onto a rack; carries like a backpack.", &["outdoor", "new"]),
    p("Crossbody Sling", &TOTE, &["black", "sage", "terracotta"], 3900, "Small sling for phone, keys and a paperback.", &["new"]),
    p("Grocery Net Bag", &TOTE, &["cream", "olive"], 1200, "Organic cotton mesh that folds into a pocket.", &["organic"]),
    p("Pour-Over Mug Set", &MUG, &["white", "charcoal"], 3900, "A dripper and a mug that fit each other.", &["home", "gift"]),
    p("Tall Latte Glass", &MUG, &["white"], 1600, "Heat-proof glass, 400 ml, for layered drinks.", &["home"]),
    p("Tea Cup and Saucer", &MUG, &["rose", "sky", "sage"], 2400, "Fine porcelain with a hand-painted rim.", &["home", "gift"]),
    p("Kids' Bottle 400 ml", &BOTTLE, &["rose", "mustard", "sky"], 2200, "Spill-proof straw lid, fits small hands.", &["outdoor"]),
    p("Coffee Tumbler", &BOTTLE, &["black", "cream"], 2900, "Fits under espresso machines and cup holders.", &["home", "bestseller"]),
    p("Sketchbook A4", &NOTEBOOK, &["black", "cream"], 2200, "Heavy 150 g/m² paper for pencil, ink and markers.", &["stationery", "art"]),
    p("Recipe Journal", &NOTEBOOK, &["terracotta", "sage"], 2400, "Index tabs, a conversion table and wipe-clean covers.", &["stationery", "home", "gift"]),
    p("Travel Journal", &NOTEBOOK, &["navy", "sand"], 2600, "Pocket for tickets, maps pages and a pen loop.", &["stationery", "outdoor"]),
    p("Botanical Study Print", &POSTER, &["sage", "cream"], 3500, "A 19th-century style plate of wild herbs.", &["art", "home"]),
    p("City Lights Print", &POSTER, &["navy", "mustard"], 3900, "A night skyline in two colours.", &["art", "new"]),
    sale(p("Tidal Print", &POSTER, &["sky", "slate"], 2900, "Tide tables turned into a wave pattern.", &["art"]), 3500),
    p("No-Show Sneaker Socks", &SOCKS, &["white", "black"], 1000, "A silicone heel grip keeps them in place.", &["bestseller"]),
    p("Striped Crew Socks", &SOCKS, &["navy", "rust", "mustard"], 1400, "Bold stripes in soft combed cotton.", &["new"]),
    p("Trail Running Socks", &SOCKS, &["slate", "forest"], 1700, "Thin, quick-drying, blister-free.", &["outdoor"]),
    p("Tartan Wool Scarf", &SCARF, &["forest", "rust"], 5900, "A traditional tartan woven in the Borders.", &["wool", "classic", "gift"]),
    p("Cotton Bandana", &SCARF, &["navy", "rust", "sage"], 1400, "Paisley print on soft washed cotton.", &["summer"]),
    p("Winter Pine Candle", &CANDLE, &["forest"], 3200, "Pine needles, fir balsam and cold air.", &["home", "gift"]),
    p("Lavender Field Candle", &CANDLE, &["rose", "white"], 2900, "Lavender, clary sage and clean cotton.", &["home"]),
    p("Travel Tin Candle Trio", &CANDLE, &["sand"], 2400, "Three 20-hour tins of our bestselling scents.", &["home", "gift", "bestseller"]),
    p("Self-Watering Planter", &POT, &["white", "charcoal"], 3900, "A hidden reservoir waters for two weeks.", &["home", "plants", "new"]),
    p("Herb Garden Trio", &POT, &["terracotta", "cream"], 3400, "Three small pots on a drip tray, for a windowsill.", &["home", "plants", "gift"]),
    sale(p("Tall Floor Planter", &POT, &["slate", "sand"], 5900, "A tall cylinder for trees and large palms.", &["home", "plants"]), 7400),
    p("Plant Mister", &BOTTLE, &["sage", "white"], 1800, "A fine-mist sprayer in frosted glass.", &["home", "plants"]),
    p("Desk Notepad", &NOTEBOOK, &["mustard", "slate"], 900, "A tear-off pad of 100 sheets for daily lists.", &["stationery"]),
];

fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

fn title_case(colour: &str) -> String {
    let mut chars = colour.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Stock that looks lived-in: mostly a few dozen, now and then sold out. Deterministic, so the
/// demo (and tests on it) are the same on every machine.
fn demo_stock(product: usize, variant: usize) -> i64 {
    let n = (product * 31 + variant * 17 + 7) % 53;
    // Every seventeenth product is sold out entirely, the rest now and then per variant.
    if product % 17 == 9 || n.is_multiple_of(11) {
        0
    } else {
        n as i64 + 3
    }
}

fn demo_product(index: usize, demo: &DemoProduct) -> NewProduct {
    let slug = slugify(demo.title);
    let kind = demo.kind;
    let mut option_names = vec!["Colour".to_string()];
    if !kind.sizes.is_empty() {
        option_names.push("Size".to_string());
    }
    let mut variants = Vec::new();
    let mut images = Vec::new();
    for colour in demo.colours {
        images.push(NewImage {
            url: format!("/demo/{}-{}.svg", kind.picture, colour),
            alt: format!("{} in {}", demo.title, colour),
            width: 600,
            height: 600,
            srcset: None,
            webp_srcset: None,
            variant: Some(variants.len()),
        });
        let sizes: Vec<Option<&str>> = if kind.sizes.is_empty() {
            vec![None]
        } else {
            kind.sizes.iter().map(|s| Some(*s)).collect()
        };
        for (size_index, size) in sizes.into_iter().enumerate() {
            let mut options = vec![title_case(colour)];
            let mut sku = format!("{}-{}", initials(demo.title), colour.to_ascii_uppercase());
            if let Some(size) = size {
                options.push(size.to_string());
                sku.push('-');
                sku.push_str(&size.replace('–', "").to_ascii_uppercase());
            }
            // Larger sizes of prints and planters cost more.
            let step = if kind.sizes.len() == 2 {
                size_index as i64 * demo.price / 2
            } else {
                0
            };
            variants.push(NewVariant {
                sku: format!("{sku}-{index:03}"),
                options,
                price: Money::new(demo.price + step, Currency::EUR),
                compare_at: demo.compare_at.map(|c| Money::new(c + step, Currency::EUR)),
                weight_grams: kind.weight_grams,
                on_hand: demo_stock(index, variants.len()),
                allow_backorder: false,
            });
        }
    }
    let description_md = format!(
        "{}\n\nAvailable in {}.\n\n**Care:** {}",
        demo.blurb,
        demo.colours
            .iter()
            .map(|c| title_case(c))
            .collect::<Vec<_>>()
            .join(", "),
        kind.care
    );
    NewProduct {
        slug,
        title: demo.title.to_string(),
        description_md,
        vendor: "Kassa Supply Co.".to_string(),
        product_type: kind.product_type.to_string(),
        status: "active",
        tags: demo.tags.iter().map(|t| t.to_string()).collect(),
        option_names,
        variants,
        images,
    }
}

fn initials(title: &str) -> String {
    title
        .split_whitespace()
        .filter_map(|w| w.chars().find(char::is_ascii_alphanumeric))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The number of products in the demo catalog.
pub fn demo_product_count() -> usize {
    PRODUCTS.len()
}

/// Writes the demo catalog in one transaction (through the writer): all of it or, on any
/// error, nothing.
pub async fn seed_demo_catalog(db: &Db) -> Result<usize, sqlx::Error> {
    db.writes()
        .run(
            |conn| -> crate::write_queue::JobFuture<'_, Result<usize, sqlx::Error>> {
                Box::pin(write_demo_catalog(conn))
            },
        )
        .await
}

async fn write_demo_catalog(tx: &mut sqlx::AnyConnection) -> Result<usize, sqlx::Error> {
    let now = now_epoch();
    let mut ids = Vec::with_capacity(PRODUCTS.len());
    for (index, demo) in PRODUCTS.iter().enumerate() {
        // An hour apart, newest first, so "new in" follows the order above.
        let created_at = now - index as i64 * 3600;
        ids.push((
            insert_product(tx, &demo_product(index, demo), created_at).await?,
            demo,
        ));
    }
    let pick = |pred: &dyn Fn(&DemoProduct) -> bool| -> Vec<i64> {
        ids.iter()
            .filter(|(_, d)| pred(d))
            .map(|(id, _)| *id)
            .collect()
    };
    let is_type = |types: &'static [&'static str]| {
        move |d: &DemoProduct| types.contains(&d.kind.product_type)
    };
    let collections: [(&str, &str, &str, bool, Vec<i64>); 7] = [
        (
            "apparel",
            "Apparel",
            "Tees, hoodies and knits made to be worn for years.",
            true,
            pick(&is_type(&["T-shirt", "Hoodie", "Sweater"])),
        ),
        (
            "accessories",
            "Accessories",
            "Caps, beanies, scarves, socks and bags.",
            true,
            pick(&is_type(&["Cap", "Beanie", "Scarf", "Socks", "Bag"])),
        ),
        (
            "home",
            "Home",
            "Mugs, candles, prints and planters.",
            true,
            pick(&is_type(&["Mug", "Candle", "Print", "Planter", "Bottle"])),
        ),
        (
            "stationery",
            "Stationery",
            "Notebooks and planners for pen people.",
            false,
            pick(&is_type(&["Notebook"])),
        ),
        (
            "outdoor",
            "Outdoor",
            "Kit for the trail and the campsite.",
            true,
            pick(&|d| d.tags.contains(&"outdoor")),
        ),
        (
            "bestsellers",
            "Bestsellers",
            "What other shoppers keep coming back for.",
            true,
            pick(&|d| d.tags.contains(&"bestseller")),
        ),
        (
            "sale",
            "Sale",
            "Reduced while stocks last.",
            false,
            pick(&|d| d.compare_at.is_some()),
        ),
    ];
    for (slug, title, description, featured, members) in &collections {
        insert_collection(tx, slug, title, description, *featured, members).await?;
    }
    Ok(PRODUCTS.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_demo_catalog_has_at_least_fifty_products_with_unique_slugs_and_skus() {
        assert!(
            PRODUCTS.len() >= 100,
            "only {} demo products",
            PRODUCTS.len()
        );
        let products: Vec<NewProduct> = PRODUCTS
            .iter()
            .enumerate()
            .map(|(i, d)| demo_product(i, d))
            .collect();
        let slugs: HashSet<_> = products.iter().map(|p| p.slug.clone()).collect();
        assert_eq!(slugs.len(), products.len());
        let skus: Vec<_> = products
            .iter()
            .flat_map(|p| p.variants.iter().map(|v| v.sku.clone()))
            .collect();
        assert_eq!(skus.iter().collect::<HashSet<_>>().len(), skus.len());
        assert!(products
            .iter()
            .all(|p| !p.variants.is_empty() && !p.images.is_empty()));
    }

    #[test]
    fn every_demo_picture_is_shipped() {
        let public = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
        for (i, demo) in PRODUCTS.iter().enumerate() {
            for image in demo_product(i, demo).images {
                let file = public.join(image.url.trim_start_matches('/'));
                assert!(file.exists(), "missing {}", file.display());
            }
        }
    }

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        assert_eq!(slugify("Trail Flask 500 ml"), "trail-flask-500-ml");
        assert_eq!(slugify("Cedar & Smoke Candle"), "cedar-smoke-candle");
    }
}
