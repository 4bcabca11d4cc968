// Passkeys on the account pages: add one on /account, sign in with one on /account/sign-in.
// Plain JavaScript rather than an island: only these two pages need it, and the browser's
// WebAuthn API is all it does (the shop's WASM stays the size it is). The server checks
// everything; this only carries the ceremony between it and the browser's authenticator.
// Without WebAuthn (or without JavaScript) the buttons stay hidden and the code sign-in works.
(() => {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const fromBase64url = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const toBase64url = (buffer) => {
    if (!buffer) return undefined;
    let text = "";
    for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

  /** POSTs JSON to the shop; the parsed answer, or an Error with the shop's message. */
  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body || {}),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((answer.error && answer.error.message) || "The shop could not be reached.");
    }
    return answer;
  }

  function say(element, message) {
    if (element) {
      element.textContent = message;
      element.hidden = !message;
    }
  }

  // Adding a passkey on the account page.
  const add = document.getElementById("add-passkey");
  if (add) {
    const form = add.closest("form");
    form.hidden = false;
    const status = document.getElementById("passkey-status");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say(status, "");
      add.disabled = true;
      try {
        const { ceremony, options } = await post("/api/v1/customer/passkeys/registration");
        const publicKey = options.publicKey;
        publicKey.challenge = fromBase64url(publicKey.challenge);
        publicKey.user.id = fromBase64url(publicKey.user.id);
        publicKey.excludeCredentials = withIds(publicKey.excludeCredentials);
        // A passkey the browser can offer without an email typed first.
        publicKey.authenticatorSelection = {
          ...(publicKey.authenticatorSelection || {}),
          residentKey: "required",
          requireResidentKey: true,
        };
        const credential = await navigator.credentials.create({ publicKey });
        const name = (form.elements.namedItem("name") || {}).value || "";
        await post("/api/v1/customer/passkeys", {
          ceremony,
          name,
          credential: {
            id: credential.id,
            rawId: toBase64url(credential.rawId),
            type: credential.type,
            response: {
              attestationObject: toBase64url(credential.response.attestationObject),
              clientDataJSON: toBase64url(credential.response.clientDataJSON),
              transports: credential.response.getTransports ? credential.response.getTransports() : [],
            },
            extensions: credential.getClientExtensionResults(),
          },
        });
        window.location.assign("/account?notice=" + encodeURIComponent("Passkey added.") + "#passkeys");
      } catch (error) {
        say(status, error.name === "NotAllowedError" ? "No passkey was added." : error.message);
        add.disabled = false;
      }
    });
  }

  // Signing in with a passkey.
  const signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    signIn.hidden = false;
    const status = document.getElementById("passkey-status");
    signIn.addEventListener("click", async () => {
      say(status, "");
      signIn.disabled = true;
      try {
        const { ceremony, options } = await post("/api/v1/customer/sign-in/passkey/options");
        const publicKey = options.publicKey;
        publicKey.challenge = fromBase64url(publicKey.challenge);
        publicKey.allowCredentials = withIds(publicKey.allowCredentials);
        // A button press, not the autofill prompt the options were made for.
        const credential = await navigator.credentials.get({ publicKey });
        await post("/api/v1/customer/sign-in/passkey", {
          ceremony,
          credential: {
            id: credential.id,
            rawId: toBase64url(credential.rawId),
            type: credential.type,
            response: {
              authenticatorData: toBase64url(credential.response.authenticatorData),
              clientDataJSON: toBase64url(credential.response.clientDataJSON),
              signature: toBase64url(credential.response.signature),
              userHandle: toBase64url(credential.response.userHandle),
            },
            extensions: credential.getClientExtensionResults(),
          },
        });
        window.location.assign(signIn.dataset.next || "/account");
      } catch (error) {
        say(status, error.name === "NotAllowedError" ? "No passkey was used." : error.message);
        signIn.disabled = false;
      }
    });
  }
})();
