//! Whether the shop can be reached: the browser's `navigator.onLine`, kept current by its
//! `online`/`offline` events, shared by every island of the page (like the cart). The server
//! renders as if online; the browser corrects that after hydration.

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Connectivity {
    online: RwSignal<bool>,
}

#[cfg(feature = "hydrate")]
thread_local! {
    static BROWSER: Connectivity = Connectivity::watch_browser();
}

impl Connectivity {
    pub fn get() -> Connectivity {
        #[cfg(feature = "hydrate")]
        {
            BROWSER.with(|c| *c)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            Connectivity {
                online: RwSignal::new(true),
            }
        }
    }

    #[cfg(feature = "hydrate")]
    fn watch_browser() -> Connectivity {
        let online = RwSignal::new(true);
        // Only a change is news: the cart and checkout ask for prices again whenever this is
        // set, and most pages open online.
        let set = move |value: bool| {
            online.maybe_update(|online| std::mem::replace(online, value) != value);
        };
        // After hydration, like the cart, so the first render matches the server's.
        set_timeout(
            move || set(window().navigator().on_line()),
            std::time::Duration::ZERO,
        );
        for (event, value) in [("online", true), ("offline", false)] {
            let handle = window_event_listener_untyped(event, move |_| set(value));
            // Lives as long as the tab.
            std::mem::forget(handle);
        }
        Connectivity { online }
    }

    pub fn online(&self) -> Signal<bool> {
        self.online.into()
    }
}

/// Browser helpers for checkout: keys, session storage and navigation.
#[cfg(feature = "hydrate")]
pub mod browser {
    use gloo_storage::{SessionStorage, Storage};

    /// A fresh random key: 128 bits from the browser's crypto, as hex.
    pub fn random_key() -> String {
        let mut bytes = [0u8; 16];
        if let Ok(crypto) = leptos::prelude::window().crypto() {
            let _ = crypto.get_random_values_with_u8_array(&mut bytes);
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Lets the service worker (`/sw.js`) keep the cart page and assets for offline use.
    pub fn register_service_worker() {
        let navigator = leptos::prelude::window().navigator();
        let _ = navigator.service_worker().register("/sw.js");
    }

    pub fn session_get(key: &str) -> Option<String> {
        SessionStorage::get::<String>(key).ok()
    }

    pub fn session_set(key: &str, value: &str) {
        let _ = SessionStorage::set(key, value);
    }

    pub fn session_remove(key: &str) {
        SessionStorage::delete(key);
    }

    /// Goes to a page of the shop (a full load: the order page is server-rendered).
    pub fn go_to(path: &str) {
        let _ = leptos::prelude::window().location().assign(path);
    }

    pub fn reload() {
        let _ = leptos::prelude::window().location().reload();
    }

    /// A parameter of the page's query string.
    pub fn query_param(name: &str) -> Option<String> {
        let search = leptos::prelude::window().location().search().ok()?;
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        params.get(name)
    }

    /// Changes the address bar to `path` without loading it (a one-time link's token goes).
    pub fn replace_path(path: &str) {
        if let Ok(history) = leptos::prelude::window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
        }
    }
}
