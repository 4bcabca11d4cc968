//! The shopper's cart. It lives in the browser (localStorage), so it survives reloads, closed
//! tabs and lost connections; the server re-prices it at checkout and never trusts its prices.
//!
//! Pages are server-rendered with interactive islands; every island on a page (the header
//! count, the add buttons, the cart page) shares one cart per browser tab through [`CartStore`].
//!
//! A signed-in shopper's cart is also kept on the server ([`account`]), so it follows them to
//! another device; the store syncs with it when a page opens, after each edit and when the
//! connection returns, by the rules of [`sync`].

#[cfg(feature = "ssr")]
pub mod account;
mod model;
pub mod sync;
mod view;

pub use model::{Cart, CartItem, CartLine, MAX_LINE_QUANTITY};
pub use view::{
    requote_on_change, AddButton, CardButtons, CartCount, CartPage, LiveQuote, OfflineBanner,
};

use leptos::prelude::*;

use crate::accounts::AccountError;
use sync::{CartSync, SyncedCart};

/// The localStorage key; the version changes if the stored shape ever does.
pub const STORAGE_KEY: &str = "kassa.cart.v1";

/// The cart shared by every island on the page.
#[derive(Clone, Copy)]
pub struct CartStore {
    cart: RwSignal<Cart>,
}

/// The event the islands loader (`island_script.js`) sends on `window` once every island of
/// the page has hydrated.
#[cfg(feature = "hydrate")]
const ISLANDS_HYDRATED: &str = "islands-hydrated";

#[cfg(feature = "hydrate")]
thread_local! {
    /// One cart per tab, created by the first island that asks for it.
    static BROWSER_CART: CartStore = CartStore::open_in_browser();
    /// Whether the saved cart has been read into the page ([`CartStore::load_saved`]).
    static SAVED_CART_LOADED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
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

    /// Starts empty, like the server's HTML, and loads the saved cart once every island of the
    /// page has hydrated (reading it earlier would make the first render differ from the
    /// server's). Follows changes made in other tabs through the `storage` event, and syncs with
    /// the account's cart when the page opens and when the connection returns.
    #[cfg(feature = "hydrate")]
    fn open_in_browser() -> CartStore {
        let cart = RwSignal::new(Cart::default());
        let store = CartStore { cart };
        // The islands loader (island_script.js) hydrates the islands one by one, the lazy ones
        // once their part of the WASM has arrived, and then sends `islands-hydrated`. The store
        // is made by the first island that asks for it, so before that event.
        let hydrated = window_event_listener_untyped(ISLANDS_HYDRATED, move |_| store.load_saved());
        std::mem::forget(hydrated);
        let listener = window_event_listener(leptos::ev::storage, move |event| {
            if event.key().as_deref() == Some(STORAGE_KEY) {
                cart.set(storage::load());
            }
        });
        let online = window_event_listener_untyped("online", move |_| {
            if SAVED_CART_LOADED.get() {
                store.sync(true);
            }
        });
        // Every shop page has the cart: where the shopper came from is noted here.
        crate::analytics::browser::remember_landing();
        // The listeners live as long as the tab.
        std::mem::forget(listener);
        std::mem::forget(online);
        store
    }

    pub fn cart(&self) -> ReadSignal<Cart> {
        self.cart.read_only()
    }

    pub fn item_count(&self) -> Signal<u32> {
        let cart = self.cart;
        Signal::derive(move || cart.with(Cart::item_count))
    }

    pub fn add(&self, item: CartItem, quantity: u32) {
        #[cfg(feature = "hydrate")]
        crate::analytics::browser::send("add_to_cart", None, Some(item.variant_id));
        self.change(|cart| cart.add(item, quantity));
    }

    pub fn set_quantity(&self, variant_id: i64, quantity: u32) {
        self.change(|cart| cart.set_quantity(variant_id, quantity));
    }

    pub fn remove(&self, variant_id: i64) {
        self.change(|cart| cart.remove(variant_id));
    }

    /// Keeps a discount code for the next quotes; `Err` says why not.
    pub fn add_code(&self, code: &str) -> Result<(), String> {
        let mut cart = self.cart.get_untracked();
        cart.add_code(code)?;
        self.change(|stored| *stored = cart);
        Ok(())
    }

    pub fn remove_code(&self, code: &str) {
        self.change(|cart| cart.remove_code(code));
    }

    /// Brings the cart in line with a quote (see [`Cart::apply_quote`]); saves only on change.
    pub fn apply_quote(&self, quote: &crate::checkout::Quote) {
        let mut cart = self.cart.get_untracked();
        if cart.apply_quote(quote) {
            self.change(|stored| *stored = cart);
        }
    }

    /// Puts a reminder's cart back (see [`Cart::restore`]).
    pub fn restore(&self, items: Vec<(CartItem, u32)>, codes: &[String]) {
        self.change(|cart| cart.restore(items, codes));
    }

    /// Empties the cart (after an order is placed).
    pub fn clear(&self) {
        self.change(|cart| *cart = Cart::default());
    }

    /// What the merge at sign-in changed, until the shopper dismisses it.
    pub fn dismiss_notices(&self) {
        self.cart.update(|cart| cart.notices.clear());
        #[cfg(feature = "hydrate")]
        storage::save(&self.cart.get_untracked());
    }

    /// Reads the saved cart into the page, once, and syncs it with the account's.
    #[cfg(feature = "hydrate")]
    fn load_saved(&self) {
        if SAVED_CART_LOADED.replace(true) {
            return;
        }
        self.cart.set(storage::load());
        self.sync(true);
    }

    fn change(&self, f: impl FnOnce(&mut Cart)) {
        // An add on an island that hydrated early, while a lazy one still loads: the change
        // goes on top of the saved cart, not on the empty first state (which would be saved
        // over it).
        #[cfg(feature = "hydrate")]
        self.load_saved();
        self.cart.update(|cart| {
            let before = cart.clone();
            f(cart);
            cart.record_edits(&before, now_ms());
        });
        #[cfg(feature = "hydrate")]
        {
            storage::save(&self.cart.get_untracked());
            self.sync(false);
        }
    }

    /// Sends what the account's cart has not heard yet (`pull`: asks for it anyway, to see
    /// other devices' edits), one request at a time. Signed out, a cart kept with an account
    /// leaves this browser.
    #[cfg(feature = "hydrate")]
    fn sync(&self, pull: bool) {
        let store = *self;
        let mut cart = self.cart.get_untracked();
        if !signed_in_hint() {
            if cart.forget_owner() {
                self.cart.set(cart.clone());
                storage::save(&cart);
            }
            return;
        }
        if !pull && !cart.wants_sync(true) {
            return;
        }
        if SYNCING.replace(true) {
            SYNC_AGAIN.set(true);
            return;
        }
        let request = cart.sync_request();
        leptos::task::spawn_local(async move {
            let answer = send_sync(request.clone()).await;
            SYNCING.set(false);
            match answer {
                Ok(answer) => {
                    let mut cart = store.cart.get_untracked();
                    cart.take_answer(&request, answer, now_ms());
                    storage::save(&cart);
                    store.cart.set(cart);
                }
                Err(AccountError::SignedOut) => {
                    forget_signed_in_hint();
                    store.sync(false);
                    return;
                }
                // Offline, or the shop is busy: the edits wait for the connection to return
                // (the `online` event), the next edit or the next page; never a retry loop.
                Err(error) => {
                    leptos::logging::warn!("could not sync the cart: {error}");
                    return;
                }
            }
            if SYNC_AGAIN.replace(false) || !store.cart.with_untracked(|c| c.unsent.is_empty()) {
                store.sync(false);
            }
        });
    }
}

/// Calls [`sync_cart`] from a part of the WASM of its own: only a signed-in shopper's pages
/// fetch it, so a guest's first load is smaller by the server-function client. A part that
/// cannot be fetched (offline before the service worker kept it, or a tab left open across a
/// release) is a transport error like any other, not a panic that stops the page's WASM.
#[cfg(feature = "hydrate")]
async fn send_sync(request: CartSync) -> Result<SyncedCart, AccountError> {
    start_sync(request).await?.await
}

#[cfg(feature = "hydrate")]
type SyncCall =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<SyncedCart, AccountError>>>>;

#[cfg(feature = "hydrate")]
#[leptos::wasm_split::wasm_split(cart_sync, wasm_split_path = ::leptos::wasm_split, fallible)]
fn start_sync(request: CartSync) -> Result<SyncCall, AccountError> {
    Ok(Box::pin(sync_cart(request)))
}

#[cfg(feature = "hydrate")]
thread_local! {
    static SYNCING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static SYNC_AGAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Milliseconds since the epoch, by this machine's clock: the browser stamps edits with it, the
/// server clamps them to it.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// Whether the server said someone is signed in here (the cookie only hints; the session
/// decides, and a sync answered "signed out" removes the hint).
#[cfg(feature = "hydrate")]
fn signed_in_hint() -> bool {
    use wasm_bindgen::JsCast;
    let wanted = format!("{}=1", crate::accounts::SIGNED_IN_HINT);
    document()
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()
        .and_then(|d| d.cookie().ok())
        .is_some_and(|cookies| cookies.split(';').any(|c| c.trim() == wanted))
}

#[cfg(feature = "hydrate")]
fn forget_signed_in_hint() {
    use wasm_bindgen::JsCast;
    if let Ok(document) = document().dyn_into::<web_sys::HtmlDocument>() {
        let _ = document.set_cookie(&format!(
            "{}=; Path=/; Max-Age=0",
            crate::accounts::SIGNED_IN_HINT
        ));
    }
}

/// Keeps the browser's cart and the signed-in shopper's cart on the server in step (see
/// [`sync`]). The store calls it; headless shops have `/api/v1/customer/cart`.
#[server(endpoint = "cart/sync", input = server_fn::codec::Json)]
pub async fn sync_cart(request: CartSync) -> Result<SyncedCart, AccountError> {
    let accounts =
        use_context::<crate::accounts::service::Accounts>().ok_or(AccountError::Internal)?;
    let parts = use_context::<axum::http::request::Parts>().ok_or(AccountError::Internal)?;
    let result = match accounts.require(&parts.headers).await {
        Ok(customer) => account::sync(accounts.db(), customer.id, request).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &result {
        crate::error::set_response_status(error.status());
    }
    result
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
