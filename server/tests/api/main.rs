//! Integration tests: a real server on a random port over a fresh SQLite file or a fresh
//! Postgres database per test. One binary keeps link times down.

mod helpers;

mod account_cart;
mod accounts;
mod admin;
mod admin_api;
mod analytics;

mod campaigns;
mod catalog_api;
mod catalog_memory;
mod checkout;
mod cli;
mod collections;
mod direct_pages;
mod discounts;
mod gift_cards;
mod health;
mod hostile_input;
mod import_export;
mod mail;
mod newsletter;
mod passkeys;
mod privacy;
mod refunds;
mod reminders;
mod returns;
mod storefront;
mod stripe;
mod support;
mod two_factor;
