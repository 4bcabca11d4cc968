//! Product pictures uploaded or imported as files: resized once into a few widths, stored under
//! content-derived names in `KASSA_DATA_DIR/media`, and served at `/media/…` with a year-long
//! cache (a changed picture gets a new name). Each width is stored twice: as JPEG (PNG when the
//! picture has transparency), which every browser shows, and as lossy WebP, about half the bytes for
//! a photo, which the pages offer first through `<picture><source type="image/webp">`.

use std::path::{Path, PathBuf};

use image::{imageops::FilterType, DynamicImage, GenericImageView, ImageFormat};
use sha2::{Digest, Sha256};

/// The widths browsers choose from through `srcset`; none is larger than the original.
pub const WIDTHS: [u32; 4] = [320, 640, 1024, 1600];

/// libwebp's quality (0–100) for the WebP copies: at 80 a photo is visibly the same as the JPEG
/// at `image`'s default quality, and smaller.
const WEBP_QUALITY: f32 = 80.0;

/// Pictures larger than this are refused rather than decoded (a decompression-bomb guard).
const MAX_PIXELS: u64 = 40_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// The largest stored width, for `src`.
    pub url: String,
    /// `"/media/…-320.jpg 320w, …"`.
    pub srcset: String,
    /// The same widths as WebP: `"/media/…-320.webp 320w, …"`.
    pub webp_srcset: String,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("not a picture Kassa can read (JPEG, PNG, GIF or WebP): {0}")]
    Decode(#[from] image::ImageError),
    #[error("the picture is too large ({0} × {1} pixels)")]
    TooLarge(u32, u32),
    #[error("cannot encode the picture as WebP: {0}")]
    Webp(String),
    #[error("cannot write the picture: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Debug)]
pub struct MediaStore {
    dir: PathBuf,
}

impl MediaStore {
    pub fn new(data_dir: &Path) -> MediaStore {
        MediaStore {
            dir: data_dir.join("media"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Decodes, resizes and stores a picture. Storing the same bytes twice is a no-op.
    pub fn store(&self, bytes: &[u8]) -> Result<StoredImage, MediaError> {
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
        let (w, h) = reader.into_dimensions()?;
        if u64::from(w) * u64::from(h) > MAX_PIXELS {
            return Err(MediaError::TooLarge(w, h));
        }
        let picture = image::load_from_memory(bytes)?;
        let (width, height) = picture.dimensions();
        let hash = hex(&Sha256::digest(bytes)[..8]);
        // Keep transparency where there is some; everything else is a photo and JPEG is smaller.
        let (format, extension) = if picture.color().has_alpha() {
            (ImageFormat::Png, "png")
        } else {
            (ImageFormat::Jpeg, "jpg")
        };
        std::fs::create_dir_all(&self.dir)?;
        let mut widths: Vec<u32> = WIDTHS.iter().copied().filter(|w| *w < width).collect();
        widths.push(width.min(*WIDTHS.last().unwrap_or(&width)));
        widths.dedup();
        let mut srcset = Vec::with_capacity(widths.len());
        let mut webp_srcset = Vec::with_capacity(widths.len());
        for w in &widths {
            let name = format!("{hash}-{w}.{extension}");
            let webp_name = format!("{hash}-{w}.webp");
            let path = self.dir.join(&name);
            let webp_path = self.dir.join(&webp_name);
            if !path.exists() || !webp_path.exists() {
                let resized = with_channels(&resize(&picture, *w), format == ImageFormat::Jpeg);
                let mut encoded = Vec::new();
                resized.write_to(&mut std::io::Cursor::new(&mut encoded), format)?;
                self.write(&name, &encoded)?;
                self.write(&webp_name, &encode_webp(&resized)?)?;
            }
            srcset.push(format!("/media/{name} {w}w"));
            webp_srcset.push(format!("/media/{webp_name} {w}w"));
        }
        let largest = *widths.last().unwrap_or(&width);
        Ok(StoredImage {
            url: format!("/media/{hash}-{largest}.{extension}"),
            srcset: srcset.join(", "),
            webp_srcset: webp_srcset.join(", "),
            width: i64::from(largest),
            height: i64::from(scaled_height(width, height, largest)),
        })
    }

    /// Writes then renames, so a reader never sees half a file. The partial file's name is this
    /// writer's own: two servers sharing the folder may store the same picture at once.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), MediaError> {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let partial = self
            .dir
            .join(format!(".{name}.{}-{n}.partial", std::process::id()));
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, self.dir.join(name))?;
        Ok(())
    }

    /// WebP copies of a picture stored before the store made them: each width of its `srcset`
    /// (`"/media/NAME 320w, …"`) re-encoded from the stored JPEG or PNG. `None` when the set
    /// names anything but this store's files, or one is missing or unreadable.
    pub fn webp_copies_of(&self, srcset: &str) -> Option<String> {
        let mut copies = Vec::new();
        for entry in srcset.split(", ") {
            let (url, width) = entry.split_once(' ')?;
            let name = url.strip_prefix("/media/")?;
            // Only a plain name of this folder: a set imported from a CSV can say anything.
            if name.contains(['/', '\\']) || name.starts_with('.') {
                return None;
            }
            let (stem, extension) = name.rsplit_once('.')?;
            if !matches!(extension, "jpg" | "png") {
                return None;
            }
            let webp_name = format!("{stem}.webp");
            if !self.dir.join(&webp_name).exists() {
                let picture =
                    with_channels(&image::open(self.dir.join(name)).ok()?, extension == "jpg");
                self.write(&webp_name, &encode_webp(&picture).ok()?).ok()?;
            }
            copies.push(format!("/media/{webp_name} {width}"));
        }
        Some(copies.join(", "))
    }
}

/// Gives up to `limit` pictures stored before WebP copies were made their copies, and returns how
/// many it looked at. A picture whose copies cannot be made (its files are gone, or its set
/// points elsewhere) gets an empty set, so it is not tried again.
pub async fn add_missing_webp(
    db: &crate::db::Db,
    media: &MediaStore,
    limit: i64,
) -> Result<usize, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, srcset FROM product_images
          WHERE webp_srcset IS NULL AND srcset LIKE '/media/%' ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let pictures: Vec<(i64, String)> = rows
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("srcset")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let count = pictures.len();
    if count == 0 {
        return Ok(0);
    }
    // Encoding takes the CPU for a while: off the async workers, a picture at a time (one whose
    // encoding panics gets an empty set, like one whose files are gone), then one write for the
    // whole batch.
    let mut copies = Vec::with_capacity(count);
    for (id, srcset) in pictures {
        let media = media.clone();
        let set = tokio::task::spawn_blocking(move || media.webp_copies_of(&srcset))
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        copies.push((id, set));
    }
    db.writes()
        .run(move |conn| {
            Box::pin(async move {
                for (id, copies) in copies {
                    sqlx::query(
                        "UPDATE product_images SET webp_srcset = $1
                          WHERE id = $2 AND webp_srcset IS NULL",
                    )
                    .bind(copies)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                }
                // The pages offer the new copies once every server forgets what it kept.
                crate::catalog_changes::note_catalog_changed(conn).await
            })
        })
        .await?;
    Ok(count)
}

/// The picture as 8-bit RGB (`opaque`: what JPEG stores) or RGBA (PNG, transparency kept): the
/// two layouts the encoders take.
fn with_channels(picture: &DynamicImage, opaque: bool) -> DynamicImage {
    if opaque {
        DynamicImage::ImageRgb8(picture.to_rgb8())
    } else {
        DynamicImage::ImageRgba8(picture.to_rgba8())
    }
}

/// Lossy WebP of an RGB or RGBA picture (transparency kept).
fn encode_webp(picture: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let (width, height) = picture.dimensions();
    let encoder = match picture {
        DynamicImage::ImageRgb8(rgb) => webp::Encoder::from_rgb(rgb.as_raw(), width, height),
        DynamicImage::ImageRgba8(rgba) => webp::Encoder::from_rgba(rgba.as_raw(), width, height),
        _ => {
            return Err(MediaError::Webp(
                "only RGB and RGBA pictures are encoded".into(),
            ))
        }
    };
    let encoded = encoder
        .encode_simple(false, WEBP_QUALITY)
        .map_err(|e| MediaError::Webp(format!("{e:?}")))?;
    Ok(encoded.to_vec())
}

fn resize(picture: &DynamicImage, width: u32) -> DynamicImage {
    let (w, h) = picture.dimensions();
    if width >= w {
        return picture.clone();
    }
    picture.resize_exact(width, scaled_height(w, h, width), FilterType::Lanczos3)
}

fn scaled_height(width: u32, height: u32, new_width: u32) -> u32 {
    ((u64::from(height) * u64::from(new_width) + u64::from(width) / 2) / u64::from(width.max(1)))
        .max(1) as u32
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut bytes = Vec::new();
        DynamicImage::ImageRgb8(picture)
            .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn a_large_picture_is_stored_in_every_smaller_width() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::new(dir.path());
        let stored = store.store(&png(2000, 1000)).unwrap();
        assert_eq!(stored.width, 1600);
        assert_eq!(stored.height, 800);
        assert_eq!(
            stored.srcset.matches("w,").count() + 1,
            4,
            "{}",
            stored.srcset
        );
        assert!(stored.url.ends_with("-1600.jpg"));
        for entry in stored.srcset.split(", ") {
            let (url, width) = entry.split_once(' ').unwrap();
            let file = dir.path().join(url.trim_start_matches('/'));
            let (w, _) = image::image_dimensions(&file).unwrap();
            assert_eq!(format!("{w}w"), width);
        }
    }

    #[test]
    fn every_width_has_a_smaller_webp_copy_of_the_same_size() {
        let dir = tempfile::tempdir().unwrap();
        let stored = MediaStore::new(dir.path()).store(&png(1200, 900)).unwrap();
        let jpegs: Vec<&str> = stored.srcset.split(", ").collect();
        let webps: Vec<&str> = stored.webp_srcset.split(", ").collect();
        assert_eq!(jpegs.len(), webps.len(), "{}", stored.webp_srcset);
        for (jpeg, webp) in jpegs.iter().zip(&webps) {
            let (jpeg_url, jpeg_width) = jpeg.split_once(' ').unwrap();
            let (webp_url, webp_width) = webp.split_once(' ').unwrap();
            assert_eq!(jpeg_width, webp_width);
            assert!(webp_url.ends_with(".webp"), "{webp_url}");
            let jpeg_file = dir.path().join(jpeg_url.trim_start_matches('/'));
            let webp_file = dir.path().join(webp_url.trim_start_matches('/'));
            let webp_bytes = std::fs::read(&webp_file).unwrap();
            assert_eq!(image::guess_format(&webp_bytes).unwrap(), ImageFormat::WebP);
            assert_eq!(
                image::image_dimensions(&webp_file).unwrap(),
                image::image_dimensions(&jpeg_file).unwrap()
            );
            let jpeg_size = std::fs::metadata(&jpeg_file).unwrap().len();
            assert!(
                (webp_bytes.len() as u64) < jpeg_size,
                "{webp_url}: {} bytes against the JPEG's {jpeg_size}",
                webp_bytes.len()
            );
        }
    }

    #[test]
    fn a_transparent_picture_keeps_its_transparency_in_webp() {
        let picture = image::RgbaImage::from_fn(400, 400, |x, _| {
            image::Rgba([200, 40, 40, if x < 200 { 0 } else { 255 }])
        });
        let mut bytes = Vec::new();
        DynamicImage::ImageRgba8(picture)
            .write_to(&mut std::io::Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let stored = MediaStore::new(dir.path()).store(&bytes).unwrap();
        assert!(stored.url.ends_with("-400.png"), "{}", stored.url);
        let webp = stored.webp_srcset.split(", ").last().unwrap();
        let file = dir
            .path()
            .join(webp.split_once(' ').unwrap().0.trim_start_matches('/'));
        let decoded = image::open(file).unwrap().to_rgba8();
        assert_eq!(
            decoded.get_pixel(10, 200)[3],
            0,
            "the clear half stays clear"
        );
        assert_eq!(decoded.get_pixel(390, 200)[3], 255);
    }

    #[test]
    fn small_pictures_are_never_enlarged() {
        let dir = tempfile::tempdir().unwrap();
        let stored = MediaStore::new(dir.path()).store(&png(500, 500)).unwrap();
        assert_eq!((stored.width, stored.height), (500, 500));
        assert_eq!(
            stored.srcset.split(", ").count(),
            2,
            "320 and the original 500"
        );
    }

    #[test]
    fn storing_the_same_picture_twice_gives_the_same_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::new(dir.path());
        let bytes = png(700, 300);
        assert_eq!(store.store(&bytes).unwrap(), store.store(&bytes).unwrap());
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let error = MediaStore::new(dir.path())
            .store(b"<html>not a picture</html>")
            .unwrap_err();
        assert!(error.to_string().starts_with("not a picture"), "{error}");
    }
}
