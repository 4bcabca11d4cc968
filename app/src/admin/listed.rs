//! A router that remembers the routes it serves, so the authorization test walks exactly the
//! routes there are: a new staff route that nobody listed with its access level fails it.

use axum::handler::Handler;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;

pub struct ListedRouter<S> {
    router: Router<S>,
    listed: Vec<(&'static str, &'static str)>,
}

impl<S: Clone + Send + Sync + 'static> Default for ListedRouter<S> {
    fn default() -> Self {
        ListedRouter {
            router: Router::new(),
            listed: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> ListedRouter<S> {
    pub fn get<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.listed.push(("GET", path));
        self.router = self.router.route(path, get(handler));
        self
    }

    pub fn post<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.listed.push(("POST", path));
        self.router = self.router.route(path, post(handler));
        self
    }

    pub fn patch<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.listed.push(("PATCH", path));
        self.router = self.router.route(path, patch(handler));
        self
    }

    pub fn put<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.listed.push(("PUT", path));
        self.router = self.router.route(path, put(handler));
        self
    }

    pub fn delete<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.listed.push(("DELETE", path));
        self.router = self.router.route(path, delete(handler));
        self
    }

    /// Changes the finished router (a layer), keeping the list.
    pub fn map(mut self, change: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = change(self.router);
        self
    }

    /// (method, path) of every route, in the order they were added.
    pub fn listed(&self) -> &[(&'static str, &'static str)] {
        &self.listed
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
