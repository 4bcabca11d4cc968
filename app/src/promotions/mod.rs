//! Promotions: discounts (codes and automatic), and later gift cards and the newsletter. The
//! rules are plain Rust in [`discounts`]; quotes and checkout apply them.

pub mod discounts;
