#!/usr/bin/env python3
"""A large, made-up product catalog as a CSV that `kassa import` reads, for scale benchmarks.

    scripts/gen-catalog.py PRODUCTS [--collections 20] [--seed 1] [--out FILE|-]

One row per variant, the product's own fields on its first row (the columns of
app/src/catalog/csv_io.rs). The same arguments always give the same file, byte for byte; rows
are written as they are made, so 100,000 products (400,000 rows) take a few seconds and little
memory.

What the file holds, so a benchmark can aim at it:
  * handles p-1 … p-N; the file's first rows are the shop's newest products;
  * titles "<adjective> <material> <garment>"; "Merino" is one material in 12;
  * every product in one collection line-a, line-b, … (round robin over --collections), about
    10% in a second one;
  * option Size (S, M, L, XL: four variants, SKUs P<n>-S … P<n>-XL); every second product
    (odd n) also has option Colour with one of ten values (Black, Charcoal, Cream, Forest,
    Mustard, Navy, Olive, Rust, Sage, Sky) for all its variants;
  * status draft for every n ending in 99 (p-99, p-199, …: 1%), active otherwise;
  * prices 9.00 to 299.00 (log-uniform per product, L and XL a little dearer), about 12% of
    products with a compare-at price; stock 0 to 40 per variant with about 15% at 0, and about
    3% of products selling on backorder (policy "continue");
  * one picture per product from the demo set the site serves (/demo/<kind>-<colour>.svg,
    600 × 600).
"""

import argparse
import csv
import math
import random
import sys
import time

COLUMNS = [
    "Handle", "Title", "Body (Markdown)", "Vendor", "Type", "Tags", "Status", "SEO Title",
    "SEO Description", "Collections", "Option1 Name", "Option1 Value", "Option2 Name",
    "Option2 Value", "Option3 Name", "Option3 Value", "Variant SKU", "Variant Grams",
    "Variant Inventory Qty", "Variant Inventory Policy", "Variant Price",
    "Variant Compare At Price", "Variant Currency", "Variant Image", "Image Src",
    "Image Position", "Image Alt Text", "Image Width", "Image Height", "Image Srcset",
]
COL = {name: i for i, name in enumerate(COLUMNS)}

ADJECTIVES = [
    "Classic", "Everyday", "Heavyweight", "Lightweight", "Ribbed", "Cropped", "Relaxed",
    "Oversized", "Slim", "Chunky", "Brushed", "Garment-Dyed", "Vintage", "Heritage",
    "Essential", "Trail", "Harbour", "Fisherman", "Waffle", "Cable-Knit", "Boxy", "Softspun",
    "Coastal", "Alpine",
]
# Twelve materials: a search for one of them finds about 1 product in 12.
MATERIALS = [
    ("Merino", "fine merino wool that stays soft against the skin"),
    ("Cotton", "long-staple organic cotton"),
    ("Linen", "washed European linen that softens with every wear"),
    ("Cashmere", "Grade-A cashmere, brushed for a cloud-like hand"),
    ("Alpaca", "baby alpaca, warmer than sheep's wool and just as light"),
    ("Lambswool", "Scottish lambswool with a gentle halo"),
    ("Hemp", "hardwearing hemp that breathes in the heat"),
    ("Fleece", "recycled polyester fleece with a brushed back"),
    ("Canvas", "a dense 12 oz cotton canvas"),
    ("Denim", "rigid selvedge denim that fades to its own shape"),
    ("Corduroy", "8-wale corduroy with a deep pile"),
    ("Bamboo", "bamboo viscose with a cool, silky drape"),
]
# Garment, product type, picture kind in public/demo/, weight in grams.
GARMENTS = [
    ("Beanie", "Headwear", "beanie", 90),
    ("Cap", "Headwear", "cap", 80),
    ("Scarf", "Accessories", "scarf", 180),
    ("Sweater", "Knitwear", "sweater", 450),
    ("Cardigan", "Knitwear", "sweater", 480),
    ("Jumper", "Knitwear", "sweater", 420),
    ("Hoodie", "Tops", "hoodie", 520),
    ("Sweatshirt", "Tops", "hoodie", 460),
    ("Tee", "Tops", "tee", 180),
    ("Henley", "Tops", "tee", 220),
    ("Socks", "Socks", "socks", 60),
    ("Tote", "Bags", "tote", 300),
    ("Backpack", "Bags", "backpack", 900),
    ("Overshirt", "Tops", "tee", 380),
]
# The Colour option's values; each is also a colour of the demo pictures.
COLOURS = ["Black", "Charcoal", "Cream", "Forest", "Mustard", "Navy", "Olive", "Rust", "Sage", "Sky"]
# Pictures of products without a Colour option may be any colour of the demo set.
PICTURE_COLOURS = [
    "black", "charcoal", "cream", "forest", "mustard", "navy", "olive", "rose", "rust", "sage",
    "sand", "sky", "slate", "terracotta", "white",
]
VENDORS = [
    "Northwind Knits", "Fjell & Co", "Harbour Mill", "Loom Street", "Alder Supply",
    "Kestrel Goods", "Saltmarsh", "Ridge Outfitters", "Tidewater", "Moss & Stone",
]
TAGS = [
    "new", "bestseller", "organic", "gift", "winter", "summer", "outdoor", "limited", "unisex",
    "recycled", "handmade", "travel", "layering", "essentials", "fair-trade", "vegan", "warm",
    "breathable", "made-in-eu", "staff-pick",
]
FITS = [
    "Cut for an easy, relaxed fit that layers over anything.",
    "A close fit that sits neatly under a coat.",
    "Generously sized: take your usual size for a roomy fit, one down for a trim one.",
    "True to size, with a little room through the body.",
]
FINISHES = [
    "Finished with **flat-locked seams** that never chafe.",
    "Reinforced at every stress point and made to be repaired, not replaced.",
    "Dyed in small batches, so each run differs a little in shade.",
    "Knitted and sewn in a family-run workshop.",
    "Every piece is checked by hand before it leaves the mill.",
]
CARE = [
    "Care: wash cold and dry flat.",
    "Care: hand wash or use the wool cycle; no tumble dryer.",
    "Care: machine wash at 30 °C, inside out.",
    "Care: air it between wears; wash rarely.",
]
SIZES = [("S", 0), ("M", 0), ("L", 1), ("XL", 2)]


def collection_handle(index):
    """line-a … line-z, line-aa, line-ab, …: letters only (bijective base 26)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return "line-" + letters


def money(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def product_rows(n, rng, collections):
    """The CSV rows of product n (1-based): four variants, the product's fields on the first."""
    adjective = rng.choice(ADJECTIVES)
    material, material_text = rng.choice(MATERIALS)
    garment, product_type, picture, grams = rng.choice(GARMENTS)
    title = f"{adjective} {material} {garment}"
    colour = rng.choice(COLOURS) if n % 2 == 1 else None

    article = "An" if adjective[0] in "AEIOU" else "A"
    sentences = [f"{article} {adjective.lower()} {garment.lower()} in {material_text}."]
    sentences += rng.sample([rng.choice(FITS), rng.choice(FINISHES), rng.choice(CARE)], rng.randint(1, 3))
    body = " ".join(sentences[:2])
    if len(sentences) > 2:
        body += "\n\n" + " ".join(sentences[2:])

    tags = ", ".join(sorted(rng.sample(TAGS, rng.randint(2, 4))))
    primary = (n - 1) % len(collections)
    member_of = [collections[primary]]
    if len(collections) > 1 and rng.random() < 0.10:
        second = (primary + rng.randrange(1, len(collections))) % len(collections)
        member_of.append(collections[second])

    # Log-uniform from 9.00 to 295.00, ending in .00, .50, .95 or .99; L and XL up to 4.00 more.
    base = int(math.exp(rng.uniform(math.log(9), math.log(295))))
    base = base * 100 + rng.choice((0, 50, 95, 99))
    base = max(900, min(base, 29500))
    size_step = rng.choice((0, 100, 200))
    compare_factor = rng.uniform(1.15, 1.6) if rng.random() < 0.12 else None
    policy = "continue" if rng.random() < 0.03 else "deny"
    picture_colour = colour.lower() if colour else rng.choice(PICTURE_COLOURS)

    rows = []
    for position, (size, step) in enumerate(SIZES):
        row = [""] * len(COLUMNS)
        row[COL["Handle"]] = f"p-{n}"
        if position == 0:
            row[COL["Title"]] = title
            row[COL["Body (Markdown)"]] = body
            row[COL["Vendor"]] = rng.choice(VENDORS)
            row[COL["Type"]] = product_type
            row[COL["Tags"]] = tags
            row[COL["Status"]] = "draft" if n % 100 == 99 else "active"
            row[COL["Collections"]] = ", ".join(member_of)
            row[COL["Option1 Name"]] = "Size"
            if colour:
                row[COL["Option2 Name"]] = "Colour"
            row[COL["Image Src"]] = f"/demo/{picture}-{picture_colour}.svg"
            row[COL["Image Position"]] = "1"
            row[COL["Image Alt Text"]] = f"{title} in {picture_colour}"
            row[COL["Image Width"]] = "600"
            row[COL["Image Height"]] = "600"
        row[COL["Option1 Value"]] = size
        if colour:
            row[COL["Option2 Value"]] = colour
        row[COL["Variant SKU"]] = f"P{n}-{size}"
        row[COL["Variant Grams"]] = str(grams + step * grams // 10)
        row[COL["Variant Inventory Qty"]] = "0" if rng.random() < 0.15 else str(rng.randint(1, 40))
        row[COL["Variant Inventory Policy"]] = policy
        price = base + step * size_step
        row[COL["Variant Price"]] = money(price)
        if compare_factor:
            row[COL["Variant Compare At Price"]] = money(int(price * compare_factor) // 100 * 100)
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("products", type=int, help="how many products")
    parser.add_argument("--collections", type=int, default=20, help="collections line-a, line-b, … (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same file (default 1)")
    parser.add_argument("--out", default="-", help="the CSV file, or - for standard output (the default)")
    args = parser.parse_args()
    if args.products < 1 or args.collections < 1:
        parser.error("PRODUCTS and --collections must be at least 1")

    collections = [collection_handle(i) for i in range(args.collections)]
    rng = random.Random(args.seed)
    started = time.monotonic()
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="", encoding="utf-8", buffering=1 << 20)
    rows = 0
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for n in range(1, args.products + 1):
            product = product_rows(n, rng, collections)
            writer.writerows(product)
            rows += len(product)
    finally:
        if out is not sys.stdout:
            out.close()
    print(
        f"gen-catalog: {args.products} products, {rows} rows, {len(collections)} collections "
        f"to {args.out} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        # `… | head` closed the pipe: not an error.
        sys.stderr.close()
