// Mounts Stripe's Payment Element for a pending order: the card goes to Stripe, never to Kassa.
// Stripe sends the shopper back to this page with ?payment_intent=…, where the server asks
// Stripe how the payment went (the webhook may have told it already).
(function () {
  var box = document.getElementById("stripe-payment");
  if (!box || typeof Stripe === "undefined") return;
  var stripe = Stripe(box.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: box.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  document.getElementById("stripe-pay").addEventListener("click", function () {
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: window.location.href.split("?")[0] } })
      .then(function (result) {
        if (result.error) document.getElementById("stripe-message").textContent = result.error.message;
      });
  });
})();
