//! Returns: a shopper asks to send back delivered units (an RMA), staff approve or decline,
//! mark the units received (back on the shelf, or damaged), and refund what they were paid
//! less the shop's fees.
//!
//! The rules are here, plain Rust: which units can be returned and why not, what a request may
//! hold, what the refund is. The records are [`store`]'s; the shopper's routes [`http`]'s; the
//! order page's section [`pages`]'. The refund itself goes through the admin's one refund path
//! (`Admin::refund_of`), so a return can never pay back more than was captured.

use serde::{Deserialize, Serialize};

use crate::checkout::address::FieldError;
use crate::money::Money;

#[cfg(feature = "ssr")]
pub mod http;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod store;

/// The longest comment a shopper may add, and the longest staff message, in characters.
pub const MAX_TEXT: usize = 2_000;
/// The longest return window the settings accept, in days.
pub const MAX_WINDOW_DAYS: i64 = 365;

/// Where a return stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The shopper asked; staff decide.
    Requested,
    /// Staff agreed: the shopper sends the units back.
    Approved,
    /// Staff refused, with a reason; the units count as not returned.
    Declined,
    /// Every unit arrived (back on the shelf or damaged); the refund is next.
    Received,
    /// Paid back: done.
    Refunded,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Requested,
        Status::Approved,
        Status::Declined,
        Status::Received,
        Status::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Approved => "approved",
            Status::Declined => "declined",
            Status::Received => "received",
            Status::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// What people read.
    pub fn label(self) -> &'static str {
        match self {
            Status::Requested => "Requested",
            Status::Approved => "Approved: send the items back",
            Status::Declined => "Declined",
            Status::Received => "Received",
            Status::Refunded => "Refunded",
        }
    }
}

/// Why the shopper sends something back: a list, so staff can see patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    TooSmall,
    TooLarge,
    Damaged,
    WrongItem,
    NotAsDescribed,
    ChangedMind,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 7] = [
        Reason::TooSmall,
        Reason::TooLarge,
        Reason::Damaged,
        Reason::WrongItem,
        Reason::NotAsDescribed,
        Reason::ChangedMind,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooSmall => "too_small",
            Reason::TooLarge => "too_large",
            Reason::Damaged => "damaged",
            Reason::WrongItem => "wrong_item",
            Reason::NotAsDescribed => "not_as_described",
            Reason::ChangedMind => "changed_mind",
            Reason::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Reason::TooSmall => "Too small",
            Reason::TooLarge => "Too large",
            Reason::Damaged => "Arrived damaged",
            Reason::WrongItem => "Wrong item sent",
            Reason::NotAsDescribed => "Not as described",
            Reason::ChangedMind => "Changed my mind",
            Reason::Other => "Other (say more in the comment)",
        }
    }
}

/// The shop's return policy, from its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Days after delivery a return may be asked for.
    pub window_days: i64,
    /// Taken off each return's refund, in the shop's minor units.
    pub shipping_fee: i64,
    /// Percent of the returned units' worth kept as a restocking fee.
    pub restocking_percent: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window_days: 30,
            shipping_fee: 0,
            restocking_percent: 0,
        }
    }
}

/// What a refund of returned units pays: their worth as paid, less the restocking fee (rounded
/// down, in the shopper's favour) and the return shipping fee; never below zero.
pub fn refund_due(worth: i64, restocking_percent: i64, shipping_fee: i64) -> i64 {
    let percent = restocking_percent.clamp(0, 100);
    let restocking = (i128::from(worth.max(0)) * i128::from(percent) / 100) as i64;
    (worth - restocking - shipping_fee.max(0)).max(0)
}

/// One order line as the return rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFacts {
    pub line_id: i64,
    pub title: String,
    pub ordered: u32,
    /// Units in deliveries marked delivered.
    pub delivered: u32,
    /// Units in returns not declined.
    pub returned: u32,
    pub final_sale: bool,
    /// When the last delivery with this line arrived (Unix seconds).
    pub delivered_at: Option<i64>,
}

/// Why a line's units cannot be returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotReturnable {
    NotDelivered,
    FinalSale,
    WindowClosed { days: i64 },
    AllReturned,
}

impl NotReturnable {
    pub fn message(&self) -> String {
        match self {
            NotReturnable::NotDelivered => {
                "It has not been delivered yet: returns open once it arrives.".into()
            }
            NotReturnable::FinalSale => "It was sold as final sale and cannot be returned.".into(),
            NotReturnable::WindowClosed { days } => format!(
                "The return window closed: returns are accepted within {days} days of delivery."
            ),
            NotReturnable::AllReturned => "Every delivered unit is already in a return.".into(),
        }
    }
}

/// How many units of a line can still be returned at `now`, or why none can.
pub fn returnable(line: &LineFacts, policy: &Policy, now: i64) -> Result<u32, NotReturnable> {
    if line.final_sale {
        return Err(NotReturnable::FinalSale);
    }
    let Some(delivered_at) = line.delivered_at.filter(|_| line.delivered > 0) else {
        return Err(NotReturnable::NotDelivered);
    };
    if now > delivered_at.saturating_add(policy.window_days.saturating_mul(86_400)) {
        return Err(NotReturnable::WindowClosed {
            days: policy.window_days,
        });
    }
    match line.delivered.saturating_sub(line.returned) {
        0 => Err(NotReturnable::AllReturned),
        units => Ok(units),
    }
}

/// A shopper's request, as the API and the order page's form send it.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    pub lines: Vec<ReturnLineIn>,
    #[serde(default)]
    pub comment: Option<String>,
    /// An exchange instead of money: a variant of the same product as every returned line
    /// (the same variant replaces a faulty item). Approving it places a replacement order at
    /// no charge.
    #[serde(default)]
    pub exchange_variant_id: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReturnLineIn {
    /// The order line's `id` (from `GET /api/v1/orders/{number}`).
    pub line_id: i64,
    pub quantity: i64,
    /// One of too_small, too_large, damaged, wrong_item, not_as_described, changed_mind, other.
    pub reason: String,
}

/// A request that passed every rule: `(line id, units, reason)` and the comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub lines: Vec<(i64, u32, Reason)>,
    pub comment: String,
    pub exchange_variant_id: Option<i64>,
}

/// Checks a request against the order's lines, naming each field at fault
/// (`lines[0].quantity`), with the reason a line cannot be returned.
pub fn check_request(
    request: &ReturnRequest,
    lines: &[LineFacts],
    policy: &Policy,
    now: i64,
) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    if request.lines.is_empty() {
        errors.push(FieldError::new(
            "lines",
            "Choose at least one item to return.",
        ));
    }
    let mut checked = Vec::new();
    for (i, wanted) in request.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let reason = Reason::parse(wanted.reason.trim());
        if reason.is_none() {
            errors.push(FieldError::new(
                field("reason"),
                "Choose a reason from the list.",
            ));
        }
        let Some(line) = lines.iter().find(|l| l.line_id == wanted.line_id) else {
            errors.push(FieldError::new(
                field("line_id"),
                "This is not an item of this order.",
            ));
            continue;
        };
        if request.lines[..i]
            .iter()
            .any(|other| other.line_id == wanted.line_id)
        {
            errors.push(FieldError::new(
                field("line_id"),
                "This item is named twice: give its quantity once.",
            ));
            continue;
        }
        let units = match returnable(line, policy, now) {
            Ok(units) => units,
            Err(why) => {
                errors.push(FieldError::new(
                    field("line_id"),
                    format!("{} cannot be returned. {}", line.title, why.message()),
                ));
                continue;
            }
        };
        if wanted.quantity < 1 || wanted.quantity > i64::from(units) {
            errors.push(FieldError::new(
                field("quantity"),
                format!("Return 1 to {units} of {}.", line.title),
            ));
            continue;
        }
        if let Some(reason) = reason {
            checked.push((line.line_id, wanted.quantity as u32, reason));
        }
    }
    let comment = request.comment.as_deref().unwrap_or("").trim().to_string();
    if comment.contains('\0') {
        errors.push(FieldError::new("comment", "Remove the NUL character."));
    } else if comment.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(
            "comment",
            format!("Keep the comment under {MAX_TEXT} characters."),
        ));
    }
    if errors.is_empty() {
        Ok(Checked {
            lines: checked,
            comment,
            exchange_variant_id: request.exchange_variant_id,
        })
    } else {
        Err(errors)
    }
}

/// Staff's message or reason: required, bounded.
pub fn check_staff_text(field: &str, text: &str, what: &str) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, format!("Write {what}.")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(FieldError::new(
            field,
            format!("Keep it under {MAX_TEXT} characters."),
        ));
    }
    if text.contains('\0') {
        return Err(FieldError::new(field, "Remove the NUL character."));
    }
    Ok(text.to_string())
}

/// The RMA number of an order's `nth` return (1-based): `R` + order number + `-` + n.
pub fn rma_number(order_number: &str, nth: i64) -> String {
    format!("R{order_number}-{nth}")
}

/// One line of a return, as the shopper and staff see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReturnLineView {
    pub line_id: i64,
    pub title: String,
    pub quantity: u32,
    pub reason: Reason,
    /// Units received and back on the shelf.
    pub restocked: u32,
    /// Units received damaged (not put back).
    pub damaged: u32,
}

/// A return as the shopper and staff see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReturnView {
    pub rma: String,
    pub status: Status,
    pub order_number: String,
    pub lines: Vec<ReturnLineView>,
    pub comment: String,
    /// Staff's instructions (approved) or reason (declined).
    pub staff_message: String,
    /// What was paid back, once refunded.
    pub refund: Option<Money>,
    /// What the refund will be (the units' worth less the fees) until it is made.
    pub refund_due: Option<Money>,
    /// An exchange: the variant asked for instead of money, and once approved, the
    /// replacement order's number.
    pub exchange_variant_id: Option<i64>,
    pub replacement_order: Option<String>,
    /// The fees this return's refund is reduced by.
    pub shipping_fee: Money,
    pub restocking_percent: i64,
    pub created_at: String,
}

/// A line of the order page's return form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnableLine {
    pub line_id: i64,
    pub title: String,
    /// Units that can be returned now (0 with `why_not`).
    pub units: u32,
    pub why_not: Option<String>,
}

/// What the order page's returns section shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnOptions {
    /// Whether anything of the order was delivered (before that, there is nothing to return).
    pub delivered: bool,
    pub lines: Vec<ReturnableLine>,
    pub window_days: i64,
    pub shipping_fee: Option<Money>,
    pub restocking_percent: i64,
    pub returns: Vec<ReturnView>,
    /// What an exchange may ask for: `(variant id, title)` of the product every returnable
    /// line belongs to (empty when the lines are of several products).
    #[serde(default)]
    pub exchanges: Vec<(i64, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn line(id: i64, delivered: u32, returned: u32) -> LineFacts {
        LineFacts {
            line_id: id,
            title: format!("Item {id}"),
            ordered: 3,
            delivered,
            returned,
            final_sale: false,
            delivered_at: (delivered > 0).then_some(10 * DAY),
        }
    }

    fn request(lines: &[(i64, i64, &str)]) -> ReturnRequest {
        ReturnRequest {
            lines: lines
                .iter()
                .map(|(line_id, quantity, reason)| ReturnLineIn {
                    line_id: *line_id,
                    quantity: *quantity,
                    reason: reason.to_string(),
                })
                .collect(),
            comment: None,
            exchange_variant_id: None,
        }
    }

    #[test]
    fn only_delivered_units_not_yet_returned_within_the_window() {
        let policy = Policy::default();
        assert_eq!(returnable(&line(1, 3, 1), &policy, 11 * DAY), Ok(2));
        assert_eq!(
            returnable(&line(1, 0, 0), &policy, 11 * DAY),
            Err(NotReturnable::NotDelivered)
        );
        assert_eq!(
            returnable(&line(1, 2, 2), &policy, 11 * DAY),
            Err(NotReturnable::AllReturned)
        );
        assert_eq!(returnable(&line(1, 2, 0), &policy, 40 * DAY), Ok(2));
        assert_eq!(
            returnable(&line(1, 2, 0), &policy, 40 * DAY + 1),
            Err(NotReturnable::WindowClosed { days: 30 })
        );
        let final_sale = LineFacts {
            final_sale: true,
            ..line(1, 2, 0)
        };
        assert_eq!(
            returnable(&final_sale, &policy, 11 * DAY),
            Err(NotReturnable::FinalSale)
        );
    }

    #[test]
    fn a_request_names_each_field_at_fault() {
        let lines = [line(1, 3, 0), line(2, 0, 0)];
        let policy = Policy::default();
        let fields = |r: ReturnRequest| -> Vec<String> {
            check_request(&r, &lines, &policy, 11 * DAY)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(request(&[])), ["lines"]);
        assert_eq!(
            fields(request(&[(1, 4, "too_small")])),
            ["lines[0].quantity"]
        );
        assert_eq!(
            fields(request(&[(1, 0, "too_small")])),
            ["lines[0].quantity"]
        );
        assert_eq!(
            fields(request(&[(9, 1, "too_small")])),
            ["lines[0].line_id"]
        );
        assert_eq!(
            fields(request(&[(2, 1, "too_small")])),
            ["lines[0].line_id"]
        );
        assert_eq!(fields(request(&[(1, 1, "meh")])), ["lines[0].reason"]);
        assert_eq!(
            fields(request(&[(1, 1, "other"), (1, 1, "other")])),
            ["lines[1].line_id"]
        );
        let ok = check_request(
            &request(&[(1, 2, "changed_mind")]),
            &lines,
            &policy,
            11 * DAY,
        )
        .unwrap();
        assert_eq!(ok.lines, vec![(1, 2, Reason::ChangedMind)]);
    }

    #[test]
    fn the_refund_is_the_worth_less_the_fees_never_negative() {
        assert_eq!(refund_due(10_000, 0, 0), 10_000);
        assert_eq!(refund_due(10_000, 15, 495), 10_000 - 1_500 - 495);
        // Rounded down in the shopper's favour: 10% of 999 is 99.9, 99 kept.
        assert_eq!(refund_due(999, 10, 0), 900);
        assert_eq!(refund_due(300, 0, 495), 0);
        assert_eq!(refund_due(1_000, 250, 0), 0, "a percent is capped at 100");
    }

    #[test]
    fn names_read_back() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(rma_number("1042", 2), "R1042-2");
    }
}
