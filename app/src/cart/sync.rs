//! The cart across devices, as rules: what happens when a browser's cart meets the cart kept
//! on the server for a signed-in shopper, and when edits made offline arrive later. Plain Rust
//! for browser and server alike; the store and the API apply them.
//!
//! - **At sign-in** the two carts merge line by line: the same variant in both keeps the larger
//!   quantity, not the sum (the same item in two carts is usually the same wish, and summing
//!   doubles it every time someone signs in on a second device); every quantity is clamped to
//!   what can be bought and to [`MAX_LINE_QUANTITY`]. Each line that differs from what the
//!   browser showed, and each that can no longer be bought, is named in a [`Change`], so
//!   nothing changes silently.
//! - **Edits** carry the time they were made. Per line the later edit wins, whichever device
//!   made it and whenever it arrives; a removal is an edit too (quantity 0), so removing a line
//!   on the phone is not undone by an older add from the laptop arriving after it.
//! - **The browser** keeps its cart as the working copy, also offline. A cart kept with an
//!   account remembers whose it is ([`Cart::owner`]) and the edits the server has not
//!   confirmed ([`Cart::unsent`]); it sends them when it can ([`Cart::sync_request`]) and takes
//!   the account's cart back ([`Cart::take_answer`]). A kept cart found in a browser where its
//!   owner is no longer signed in is dropped ([`Cart::forget_owner`]), and another account's
//!   answer replaces it rather than merging with it: one person never sees another's cart.

use serde::{Deserialize, Serialize};

pub use super::model::StampedLine;
use super::model::{Cart, CartLine, MAX_LINE_QUANTITY};

/// A line the merge at sign-in changed, to tell the shopper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// The account's cart had this line; this browser did not.
    Added { variant_id: i64, quantity: u32 },
    /// Both had it: the account's larger quantity was kept.
    Raised { variant_id: i64, from: u32, to: u32 },
    /// Less can be bought than either cart held.
    Lowered {
        variant_id: i64,
        wanted: u32,
        to: u32,
    },
    /// Nothing of it can be bought now: the line is gone.
    Removed { variant_id: i64 },
}

/// Merges the browser's cart with the account's at sign-in (see the module's rules).
/// `available(variant)` is how many can be bought now. Lines come out sorted by variant.
pub fn merge_at_sign_in(
    browser: &[(i64, u32)],
    account: &[(i64, u32)],
    available: impl Fn(i64) -> u32,
) -> (Vec<(i64, u32)>, Vec<Change>) {
    let mut variants: Vec<i64> = browser
        .iter()
        .chain(account)
        .filter(|(_, quantity)| *quantity > 0)
        .map(|(id, _)| *id)
        .collect();
    variants.sort_unstable();
    variants.dedup();
    let quantity_in = |lines: &[(i64, u32)], id: i64| {
        lines
            .iter()
            .filter(|(v, _)| *v == id)
            .map(|(_, q)| *q)
            .max()
            .unwrap_or(0)
    };
    let mut merged = Vec::with_capacity(variants.len());
    let mut changes = Vec::new();
    for variant_id in variants {
        let here = quantity_in(browser, variant_id);
        let there = quantity_in(account, variant_id);
        let wanted = here.max(there);
        let to = wanted.min(available(variant_id)).min(MAX_LINE_QUANTITY);
        if to == 0 {
            changes.push(Change::Removed { variant_id });
            continue;
        }
        merged.push((variant_id, to));
        if to == here {
            // What this browser shows already.
        } else if to < wanted {
            changes.push(Change::Lowered {
                variant_id,
                wanted,
                to,
            });
        } else if here == 0 {
            changes.push(Change::Added {
                variant_id,
                quantity: to,
            });
        } else {
            changes.push(Change::Raised {
                variant_id,
                from: here,
                to,
            });
        }
    }
    (merged, changes)
}

/// The account's lines after `edits` arrive: per variant the latest edit wins; at equal times
/// the one already kept stays (so sending the same edits twice changes nothing). Removals are
/// kept as quantity 0. Sorted by variant.
pub fn apply_edits(kept: &[StampedLine], edits: &[StampedLine]) -> Vec<StampedLine> {
    let mut lines: Vec<StampedLine> = Vec::with_capacity(kept.len() + edits.len());
    for edit in kept.iter().chain(edits) {
        let edit = StampedLine {
            quantity: edit.quantity.min(MAX_LINE_QUANTITY),
            ..*edit
        };
        match lines.iter_mut().find(|l| l.variant_id == edit.variant_id) {
            Some(line) if edit.edited_at > line.edited_at => *line = edit,
            Some(_) => {}
            None => lines.push(edit),
        }
    }
    lines.sort_unstable_by_key(|l| l.variant_id);
    lines
}

/// The lines a cart shows: those not removed.
pub fn live(lines: &[StampedLine]) -> Vec<(i64, u32)> {
    lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| (l.variant_id, l.quantity))
        .collect()
}

/// What a browser sends to keep its cart and the account's in step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartSync {
    /// The account the browser's cart is kept with; `None` for a guest's cart, which merges
    /// into the account's (the browser has just signed in).
    pub owner: Option<i64>,
    /// A kept cart's edits not yet confirmed; a guest cart's lines (their times unused).
    pub lines: Vec<StampedLine>,
}

/// The account's cart after a sync, for the browser to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedCart {
    pub owner: i64,
    pub lines: Vec<CartLine>,
    /// What the merge at sign-in changed, in words; empty otherwise.
    pub notices: Vec<String>,
}

/// The lines of `now` that differ from `before`, as edits made at `now_ms`.
fn edits_between(before: &[(i64, u32)], now: &[(i64, u32)], now_ms: i64) -> Vec<StampedLine> {
    let quantity_of =
        |lines: &[(i64, u32)], id: i64| lines.iter().find(|(v, _)| *v == id).map_or(0, |(_, q)| *q);
    let mut variants: Vec<i64> = before.iter().chain(now).map(|(id, _)| *id).collect();
    variants.sort_unstable();
    variants.dedup();
    variants
        .into_iter()
        .filter(|&id| quantity_of(before, id) != quantity_of(now, id))
        .map(|variant_id| StampedLine {
            variant_id,
            quantity: quantity_of(now, variant_id),
            edited_at: now_ms,
        })
        .collect()
}

fn pairs(lines: &[CartLine]) -> Vec<(i64, u32)> {
    lines
        .iter()
        .map(|l| (l.item.variant_id, l.quantity))
        .collect()
}

impl Cart {
    /// Notes every line that differs from `before` as an edit made at `now_ms`, to be sent to
    /// the account this cart is kept with (a guest's cart has nobody to tell).
    pub fn record_edits(&mut self, before: &Cart, now_ms: i64) {
        if self.owner.is_none() {
            return;
        }
        for edit in edits_between(&pairs(&before.lines), &pairs(&self.lines), now_ms) {
            self.unsent.retain(|e| e.variant_id != edit.variant_id);
            self.unsent.push(edit);
        }
    }

    /// Whether the server should hear from this cart: a kept cart with unsent edits, or a
    /// guest's cart in a browser that has signed in.
    pub fn wants_sync(&self, signed_in: bool) -> bool {
        signed_in && (self.owner.is_none() || !self.unsent.is_empty())
    }

    /// What to send: a kept cart's unsent edits, or a guest cart's lines to merge.
    pub fn sync_request(&self) -> CartSync {
        let lines = match self.owner {
            Some(_) => self.unsent.clone(),
            None => self
                .lines
                .iter()
                .map(|l| StampedLine {
                    variant_id: l.item.variant_id,
                    quantity: l.quantity,
                    edited_at: 0,
                })
                .collect(),
        };
        CartSync {
            owner: self.owner,
            lines,
        }
    }

    /// Takes the account's cart (and a merge's notices) from the answer to `sent`. Edits made
    /// here while the request was away are kept on top (and stay unsent). An answer for another
    /// account than the one this cart was kept with replaces it whole.
    pub fn take_answer(&mut self, sent: &CartSync, answer: SyncedCart, now_ms: i64) {
        let still_unsent: Vec<StampedLine> = if self.owner != sent.owner {
            // The cart changed hands meanwhile (signed out in another tab): not ours to keep.
            Vec::new()
        } else if sent.owner == Some(answer.owner) {
            self.unsent
                .iter()
                .filter(|edit| !sent.lines.contains(edit))
                .copied()
                .collect()
        } else if sent.owner.is_none() {
            // A guest cart merged: what changed here since it was sent is still to be said.
            let sent_lines = live(&sent.lines);
            edits_between(&sent_lines, &pairs(&self.lines), now_ms)
        } else {
            // Kept for one account, answered for another: the other's cart replaces it whole.
            Vec::new()
        };
        let local = std::mem::take(&mut self.lines);
        self.owner = Some(answer.owner);
        self.lines = answer.lines;
        // A merge's notices stay until the shopper dismisses them or the next merge.
        if !answer.notices.is_empty() {
            self.notices = answer.notices;
        }
        self.unsent = Vec::new();
        for edit in still_unsent {
            if edit.quantity == 0 {
                self.remove(edit.variant_id);
            } else if let Some(line) = self
                .lines
                .iter_mut()
                .find(|l| l.item.variant_id == edit.variant_id)
            {
                line.quantity = edit.quantity;
            } else if let Some(line) = local.iter().find(|l| l.item.variant_id == edit.variant_id) {
                self.lines.push(CartLine {
                    item: line.item.clone(),
                    quantity: edit.quantity,
                });
            }
            self.unsent.push(edit);
        }
        // Lines stay where the shopper saw them; new ones come after.
        let place = |id: i64| {
            local
                .iter()
                .position(|l| l.item.variant_id == id)
                .unwrap_or(usize::MAX)
        };
        self.lines.sort_by_key(|l| place(l.item.variant_id));
    }

    /// The browser is not signed in: a cart kept with an account is that account's (safe on
    /// the server) and leaves this browser. Returns whether it did.
    pub fn forget_owner(&mut self) -> bool {
        if self.owner.is_some() {
            *self = Cart::default();
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(variant_id: i64, quantity: u32, edited_at: i64) -> StampedLine {
        StampedLine {
            variant_id,
            quantity,
            edited_at,
        }
    }

    #[test]
    fn the_same_variant_in_both_carts_keeps_the_larger_quantity_not_the_sum() {
        let (merged, changes) = merge_at_sign_in(&[(1, 2), (2, 1)], &[(1, 3), (3, 1)], |_| 50);
        assert_eq!(merged, vec![(1, 3), (2, 1), (3, 1)]);
        assert_eq!(
            changes,
            vec![
                Change::Raised {
                    variant_id: 1,
                    from: 2,
                    to: 3
                },
                Change::Added {
                    variant_id: 3,
                    quantity: 1
                },
            ]
        );
    }

    #[test]
    fn the_merge_is_clamped_to_stock_and_says_so() {
        let stock = |id| if id == 1 { 2 } else { 0 };
        let (merged, changes) = merge_at_sign_in(&[(1, 5)], &[(2, 1)], stock);
        assert_eq!(merged, vec![(1, 2)]);
        assert_eq!(
            changes,
            vec![
                Change::Lowered {
                    variant_id: 1,
                    wanted: 5,
                    to: 2
                },
                Change::Removed { variant_id: 2 },
            ]
        );
    }

    #[test]
    fn a_later_removal_beats_an_earlier_add_arriving_after_it() {
        let kept = vec![line(1, 2, 100)];
        // The phone removed the line at 300; the laptop's add from 200 arrives afterwards.
        let after_phone = apply_edits(&kept, &[line(1, 0, 300)]);
        let after_laptop = apply_edits(&after_phone, &[line(1, 5, 200)]);
        assert_eq!(live(&after_laptop), vec![]);
        assert_eq!(after_laptop, vec![line(1, 0, 300)]);
    }

    fn cart_line(variant_id: i64, quantity: u32) -> CartLine {
        CartLine {
            item: crate::cart::CartItem {
                variant_id,
                product_slug: format!("p{variant_id}"),
                title: format!("Product {variant_id}"),
                variant_title: String::new(),
                unit_price: crate::money::Money::new(100, crate::money::Currency::EUR),
                image_url: None,
            },
            quantity,
        }
    }

    fn shown(cart: &Cart) -> Vec<(i64, u32)> {
        pairs(&cart.lines)
    }

    #[test]
    fn edits_made_while_a_sync_was_away_stay_on_top_and_unsent() {
        let mut cart = Cart {
            owner: Some(7),
            ..Cart::default()
        };
        let before = cart.clone();
        cart.lines.push(cart_line(1, 1));
        cart.record_edits(&before, 100);
        let sent = cart.sync_request();
        assert_eq!(sent.lines, vec![line(1, 1, 100)]);
        // Meanwhile: one more of 1, and 2 added.
        let before = cart.clone();
        cart.lines[0].quantity = 2;
        cart.lines.push(cart_line(2, 1));
        cart.record_edits(&before, 200);
        let answer = SyncedCart {
            owner: 7,
            lines: vec![cart_line(3, 4), cart_line(1, 1)],
            notices: vec![],
        };
        cart.take_answer(&sent, answer, 300);
        assert_eq!(shown(&cart), vec![(1, 2), (2, 1), (3, 4)]);
        assert_eq!(cart.unsent, vec![line(1, 2, 200), line(2, 1, 200)]);
        assert!(cart.wants_sync(true));
    }

    #[test]
    fn a_guest_cart_is_sent_whole_and_becomes_the_accounts() {
        let mut cart = Cart::default();
        cart.lines.push(cart_line(1, 2));
        let before = cart.clone();
        cart.record_edits(&before, 100);
        assert!(cart.unsent.is_empty(), "a guest's cart has nobody to tell");
        assert!(!cart.wants_sync(false) && cart.wants_sync(true));
        let sent = cart.sync_request();
        assert_eq!(sent.owner, None);
        assert_eq!(live(&sent.lines), vec![(1, 2)]);
        let answer = SyncedCart {
            owner: 7,
            lines: vec![cart_line(1, 3), cart_line(2, 1)],
            notices: vec!["…".into()],
        };
        cart.take_answer(&sent, answer, 200);
        assert_eq!(cart.owner, Some(7));
        assert_eq!(
            cart.notices,
            vec!["…".to_string()],
            "the merge's notices are kept"
        );
        assert_eq!(shown(&cart), vec![(1, 3), (2, 1)]);
        assert!(cart.unsent.is_empty());
    }

    #[test]
    fn another_accounts_answer_replaces_the_cart_and_a_signed_out_browser_drops_it() {
        let mut cart = Cart {
            owner: Some(7),
            lines: vec![cart_line(1, 2)],
            unsent: vec![line(1, 2, 100)],
            notices: vec![],
            codes: vec![],
            priced: None,
        };
        let sent = cart.sync_request();
        let answer = SyncedCart {
            owner: 8,
            lines: vec![cart_line(5, 1)],
            notices: vec![],
        };
        cart.take_answer(&sent, answer, 200);
        assert_eq!(cart.owner, Some(8));
        assert_eq!(shown(&cart), vec![(5, 1)]);
        assert!(cart.unsent.is_empty(), "7's edits are not 8's");
        assert!(cart.forget_owner());
        assert_eq!(cart, Cart::default());
        assert!(!cart.forget_owner(), "a guest's cart stays");
    }

    fn edits() -> impl Strategy<Value = Vec<StampedLine>> {
        prop::collection::vec(
            (1i64..6, 0u32..120, 0i64..1_000).prop_map(|(v, q, t)| line(v, q, t)),
            0..30,
        )
    }

    proptest! {
        /// Two devices edit offline in any order; whichever reaches the server first, the
        /// result is the same, and every line is its latest edit (nothing lost silently).
        #[test]
        fn edits_from_two_devices_land_the_same_in_any_order(a in edits(), b in edits()) {
            let one = apply_edits(&apply_edits(&[], &a), &b);
            let other = apply_edits(&apply_edits(&[], &b), &a);
            // Equal times on one variant are a tie either order may keep; exclude them.
            let tie = a.iter().chain(&b).any(|x| a.iter().chain(&b).any(|y| {
                x.variant_id == y.variant_id && x.edited_at == y.edited_at && x.quantity != y.quantity
            }));
            prop_assume!(!tie);
            prop_assert_eq!(&one, &other);
            for kept in &one {
                let latest = a.iter().chain(&b)
                    .filter(|e| e.variant_id == kept.variant_id)
                    .max_by_key(|e| e.edited_at)
                    .unwrap();
                prop_assert_eq!(kept.quantity, latest.quantity.min(MAX_LINE_QUANTITY));
                prop_assert_eq!(kept.edited_at, latest.edited_at);
            }
            // Sending the same edits again changes nothing.
            prop_assert_eq!(apply_edits(&one, &a), one.clone());
        }

        /// The merge keeps every variant either cart had (unless none can be bought), never
        /// more than the larger of the two, the stock or the line maximum, and names every line
        /// that differs from the browser's.
        #[test]
        fn the_merge_at_sign_in_keeps_its_rules(
            browser in prop::collection::vec((1i64..8, 1u32..120), 0..8),
            account in prop::collection::vec((1i64..8, 1u32..120), 0..8),
            stock in prop::collection::vec(0u32..150, 8),
        ) {
            let available = |id: i64| stock[id as usize];
            let (merged, changes) = merge_at_sign_in(&browser, &account, available);
            let max_in = |lines: &[(i64, u32)], id| lines.iter().filter(|(v, _)| *v == id).map(|(_, q)| *q).max().unwrap_or(0);
            for id in 1..8i64 {
                let wanted = max_in(&browser, id).max(max_in(&account, id));
                let expected = wanted.min(available(id)).min(MAX_LINE_QUANTITY);
                let got = merged.iter().find(|(v, _)| *v == id).map(|(_, q)| *q).unwrap_or(0);
                prop_assert_eq!(got, expected);
                let shown = max_in(&browser, id);
                let named = changes.iter().any(|c| match c {
                    Change::Added { variant_id, .. }
                    | Change::Raised { variant_id, .. }
                    | Change::Lowered { variant_id, .. }
                    | Change::Removed { variant_id } => *variant_id == id,
                });
                // Sold out is said even for a line only the account's cart had.
                prop_assert_eq!(named, wanted > 0 && (got != shown || got == 0), "variant {}", id);
            }
        }
    }
}
