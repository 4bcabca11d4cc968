//! Product pictures uploaded or imported as files: resized once into a few widths, stored under
//! content-derived names in `KASSA_DATA_DIR/media`, and served at `/media/…` with a year-long
//! cache (a changed picture gets a new name).

use std::path::{Path, PathBuf};

use image::{imageops::FilterType, DynamicImage, GenericImageView, ImageFormat};
use sha2::{Digest, Sha256};

/// The widths browsers choose from through `srcset`; none is larger than the original.
pub const WIDTHS: [u32; 4] = [320, 640, 1024, 1600];

/// Pictures larger than this are refused rather than decoded (a decompression-bomb guard).
const MAX_PIXELS: u64 = 40_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// The largest stored width, for `src`.
    pub url: String,
    /// `"/media/…-320.jpg 320w, …"`.
    pub srcset: String,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("not a picture Kassa can read (JPEG, PNG, GIF or WebP): {0}")]
    Decode(#[from] image::ImageError),
    #[error("the picture is too large ({0} × {1} pixels)")]
    TooLarge(u32, u32),
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
        for w in &widths {
            let name = format!("{hash}-{w}.{extension}");
            let path = self.dir.join(&name);
            if !path.exists() {
                let resized = resize(&picture, *w);
                let resized = if format == ImageFormat::Jpeg {
                    DynamicImage::ImageRgb8(resized.to_rgb8())
                } else {
                    resized
                };
                // Write then rename, so a reader never sees half a file.
                let partial = self.dir.join(format!(".{name}.partial"));
                resized.save_with_format(&partial, format)?;
                std::fs::rename(&partial, &path)?;
            }
            srcset.push(format!("/media/{name} {w}w"));
        }
        let largest = *widths.last().unwrap_or(&width);
        Ok(StoredImage {
            url: format!("/media/{hash}-{largest}.{extension}"),
            srcset: srcset.join(", "),
            width: i64::from(largest),
            height: i64::from(scaled_height(width, height, largest)),
        })
    }
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
