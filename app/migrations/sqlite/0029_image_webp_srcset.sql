-- The media pipeline stores each width as WebP too: "url.webp 320w, …", offered to browsers
-- before the JPEG/PNG srcset. NULL for pictures stored before it, or linked from elsewhere.
ALTER TABLE product_images ADD COLUMN webp_srcset TEXT;
