// Leptos's islands loader (leptos 0.8.23, src/hydration/island_script.js, MIT), called by
// kassa's IslandScripts (lib.rs) as leptos's HydrationScripts calls it. Two changes, marked
// "Kassa": the lazy islands' parts fetched early, and what it does when every island has
// hydrated.
((root, pkg_path, output_name, wasm_output_name) => {
	let MOST_RECENT_CHILDREN_CB = [];

	function idle(c) {
		if ("requestIdleCallback" in window) {
			window.requestIdleCallback(c);
		} else {
			c();
		}
	}
	async function hydrateIslands(rootNode, mod) {
		async function traverse(node) {
			if (node.nodeType === Node.ELEMENT_NODE) {
				const tag = node.tagName.toLowerCase();
				if(tag === 'leptos-island') {
					const children = [];
					const id = node.dataset.component || null;

					await hydrateIsland(node, id, mod);
					
					for(const child of node.children) {
						await traverse(child, children);
					}
				} else {
					if (tag === 'leptos-children') {
						MOST_RECENT_CHILDREN_CB.push(node.$$on_hydrate);
						for(const child of node.children) {
							await traverse(child);
						};
						// un-set the "most recent children"
						MOST_RECENT_CHILDREN_CB.pop();
					} else {
						for(const child of node.children) {
							await traverse(child);
						};
					}
				}
			}
		}

		await traverse(rootNode);
	}
	async function hydrateIsland(el, id, mod) {
		const islandFn = mod[id];
		if (islandFn) {
			const children_cb = MOST_RECENT_CHILDREN_CB[MOST_RECENT_CHILDREN_CB.length-1];
			if (children_cb) {
				children_cb();
			}
			const res = islandFn(el);
			if (res && res.then) {
				await res;
			}
		} else {
			console.warn(`Could not find WASM function for the island ${id}.`);
		}
	}
	idle(() => {
		// Kassa: the parts of the WASM the page's lazy islands need, fetched beside the main
		// WASM (into the HTTP cache, where the islands' loader finds them).
		for (const el of document.querySelectorAll("[data-lazy-parts]")) {
			for (const url of el.dataset.lazyParts.split(" ")) {
				fetch(url, { priority: "low" }).then((r) => r.arrayBuffer()).catch(() => {});
			}
		}
		import(`${root}/${pkg_path}/${output_name}.js`)
			.then(mod => {
				mod.default({module_or_path: `${root}/${pkg_path}/${wasm_output_name}.wasm`}).then(() => {
					mod.hydrate();
					// Kassa: once every island is interactive (the lazy ones wait for their part
					// of the WASM), mark the page and tell the cart it may read the saved cart.
					hydrateIslands(document.body, mod).finally(() => {
						document.body.setAttribute("data-hydrated", "true");
						window.dispatchEvent(new Event("islands-hydrated"));
					});
				});

				window.__hydrateIsland = (el, id) => hydrateIsland(el, id, mod);
			})
	});
})
