-- The shop's name (the header, titles, emails) and its email sender, set on the settings page.
-- An empty sender means the server's own (`KASSA_MAIL_FROM`).
ALTER TABLE shop_settings ADD COLUMN shop_name TEXT NOT NULL DEFAULT 'Kassa';
ALTER TABLE shop_settings ADD COLUMN email_from TEXT NOT NULL DEFAULT '';
