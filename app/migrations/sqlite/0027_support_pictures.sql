-- A picture with a support message (a damaged parcel, a wrong colour): decoded, re-encoded and
-- stored with the shop's media, so what is served is always a plain JPEG or PNG.
ALTER TABLE support_messages ADD COLUMN picture_url TEXT;
