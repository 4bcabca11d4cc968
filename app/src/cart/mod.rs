//! The shopper's cart. It lives in the browser (localStorage), so it survives reloads, closed
//! tabs and lost connections; the server re-prices it at checkout and never trusts its prices.

mod model;
mod view;

pub use model::{Cart, CartItem, CartLine, MAX_LINE_QUANTITY};
pub use view::{AddToCartButton, CartCount, CartPage};

use leptos::prelude::*;

/// The localStorage key; the version changes if the stored shape ever does.
pub const STORAGE_KEY: &str = "kassa.cart.v1";

/// The cart shared by every component, provided once by `App`.
#[derive(Clone, Copy)]
pub struct CartStore {
    cart: RwSignal<Cart>,
}

impl CartStore {
    pub fn get() -> CartStore {
        use_context::<CartStore>().unwrap_or_else(|| {
            // Only reachable if a component is rendered outside `App`: degrade to an empty cart.
            CartStore {
                cart: RwSignal::new(Cart::default()),
            }
        })
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

    fn change(&self, f: impl FnOnce(&mut Cart)) {
        self.cart.update(f);
        #[cfg(feature = "hydrate")]
        storage::save(&self.cart.get_untracked());
    }
}

/// Creates the cart and, in the browser, loads the saved one once hydration is done (reading
/// localStorage earlier would make the first render differ from the server's HTML) and follows
/// changes made in other tabs.
pub fn provide_cart() {
    let cart = RwSignal::new(Cart::default());
    provide_context(CartStore { cart });
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| cart.set(storage::load()));
        let listener = window_event_listener(leptos::ev::storage, move |event| {
            if event.key().as_deref() == Some(STORAGE_KEY) {
                cart.set(storage::load());
            }
        });
        on_cleanup(move || listener.remove());
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
