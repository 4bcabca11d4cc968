use leptos::prelude::*;

#[component]
pub fn OrderPage() -> impl IntoView {
    view! { <h1>"Order"</h1> }
}
