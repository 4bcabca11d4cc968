-- Personal data of unpaid orders (expired, declined) is erased after this many days.
ALTER TABLE shop_settings ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 3650);

-- Staff who may export or erase a person's data (the owner always may).
ALTER TABLE accounts ADD COLUMN can_privacy INTEGER NOT NULL DEFAULT 0 CHECK (can_privacy IN (0, 1));
