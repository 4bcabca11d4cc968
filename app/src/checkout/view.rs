use leptos::prelude::*;

#[component]
pub fn CheckoutPage() -> impl IntoView {
    view! { <h1>"Checkout"</h1> }
}

#[component]
pub fn OfflineNotice() -> impl IntoView {
    view! { <p></p> }
}
