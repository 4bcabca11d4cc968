//! The shopper's cart. It lives in the browser (localStorage), so it survives reloads, closed
//! tabs and lost connections; the server re-prices it at checkout and never trusts its prices.
//!
//! Pages are server-rendered with interactive islands; every island on a page (the header
//! count, the add buttons, the cart page) shares one cart per browser tab through [`CartStore`].

mod model;
pub mod sync;
mod view;

pub use model::{Cart, CartItem, CartLine, MAX_LINE_QUANTITY};
pub use view::{
    requote_on_change, AddButton, AddToCartButton, CartCount, CartPage, LiveQuote, OfflineBanner,
};

use leptos::prelude::*;

/// The localStorage key; the version changes if the stored shape ever does.
pub const STORAGE_KEY: &str = "kassa.cart.v1";

/// The cart shared by every island on the page.
#[derive(Clone, Copy)]
pub struct CartStore {
    cart: RwSignal<Cart>,
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// One cart per tab, created by the first island that asks for it.
    static BROWSER_CART: CartStore = CartStore::open_in_browser();
}

impl CartStore {
    /// The tab's cart in the browser. On the server, where islands only render their first
    /// state, an empty cart (the saved one is in the browser's storage, not here).
    pub fn get() -> CartStore {
        #[cfg(feature = "hydrate")]
        {
            BROWSER_CART.with(|store| *store)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            CartStore {
                cart: RwSignal::new(Cart::default()),
            }
        }
    }

    /// Starts empty, like the server's HTML, and loads the saved cart once the islands have
    /// hydrated (reading it earlier would make the first render differ from the server's).
    /// Follows changes made in other tabs through the `storage` event.
    #[cfg(feature = "hydrate")]
    fn open_in_browser() -> CartStore {
        let cart = RwSignal::new(Cart::default());
        // The island script hydrates islands one by one, yielding to microtasks between them,
        // so wait for a macrotask: by then every island has hydrated from the server's HTML.
        set_timeout(move || cart.set(storage::load()), std::time::Duration::ZERO);
        let listener = window_event_listener(leptos::ev::storage, move |event| {
            if event.key().as_deref() == Some(STORAGE_KEY) {
                cart.set(storage::load());
            }
        });
        // The listener lives as long as the tab.
        std::mem::forget(listener);
        CartStore { cart }
    }

    pub fn cart(&self) -> ReadSignal<Cart> {
        self.cart.read_only()
    }

    pub fn item_count(&self) -> Signal<u32> {
        let cart = self.cart;
        Signal::derive(move || cart.with(Cart::item_count))
    }

    pub fn add(&self, item: CartItem, quantity: u32) {
        self.change(|cart| cart.add(item, quantity));
    }

    pub fn set_quantity(&self, variant_id: i64, quantity: u32) {
        self.change(|cart| cart.set_quantity(variant_id, quantity));
    }

    pub fn remove(&self, variant_id: i64) {
        self.change(|cart| cart.remove(variant_id));
    }

    /// Brings the cart in line with a quote (see [`Cart::apply_quote`]); saves only on change.
    pub fn apply_quote(&self, quote: &crate::checkout::Quote) {
        let mut cart = self.cart.get_untracked();
        if cart.apply_quote(quote) {
            self.change(|stored| *stored = cart);
        }
    }

    /// Empties the cart (after an order is placed).
    pub fn clear(&self) {
        self.change(|cart| *cart = Cart::default());
    }

    fn change(&self, f: impl FnOnce(&mut Cart)) {
        self.cart.update(f);
        #[cfg(feature = "hydrate")]
        storage::save(&self.cart.get_untracked());
    }
}

#[cfg(feature = "hydrate")]
mod storage {
    use super::{Cart, STORAGE_KEY};
    use gloo_storage::{LocalStorage, Storage};

    /// A missing or unreadable saved cart (an older shape, edited by hand) starts empty
    /// rather than breaking the page.
    pub fn load() -> Cart {
        LocalStorage::get::<Cart>(STORAGE_KEY)
            .map(Cart::normalised)
            .unwrap_or_default()
    }

    pub fn save(cart: &Cart) {
        if let Err(error) = LocalStorage::set(STORAGE_KEY, cart) {
            leptos::logging::warn!("could not save the cart: {error}");
        }
    }
}
