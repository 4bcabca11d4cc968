-- Pictures stored by the media pipeline come in several widths: "url 320w, url 640w, …".
ALTER TABLE product_images ADD COLUMN srcset TEXT;
