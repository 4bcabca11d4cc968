//! Leptos's own speed, for the catalog benchmark: the smallest leptos_axum app that renders a
//! page (a document shell with `<MetaTags/>`, a router with one route, a list of 50 rows with a
//! link each) on the same machine, runtime and HTTP stack as Kassa, with no database, no
//! middleware and no islands. `scripts/bench-catalog.sh` runs it beside the real server, so
//! Kassa's rendered pages can be compared with what Leptos itself does in the same run.

use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router as LeptosRouter, Routes},
    path,
};

fn shell(options: LeptosOptions) -> impl IntoView {
    let _ = options;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Fifty rows"/>
        <LeptosRouter>
            <main>
                <Routes fallback=|| "Not found">
                    <Route path=path!("/") view=FiftyRows/>
                </Routes>
            </main>
        </LeptosRouter>
    }
}

#[component]
fn FiftyRows() -> impl IntoView {
    let rows = (1..=50).map(|n| (n, format!("Row number {n}")));
    view! {
        <h1>"Fifty rows"</h1>
        <ul>
            {rows
                .map(|(n, label)| {
                    view! {
                        <li class="row">
                            <a href=format!("/rows/{n}")>{label}</a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3200".to_string());
    let options = LeptosOptions::builder().output_name("bare").build();
    let routes = generate_route_list(App);
    let app = Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .with_state(options);
    let listener = kassa::startup::listen(addr.parse().expect("an address"))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
