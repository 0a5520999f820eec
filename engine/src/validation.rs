//! Field problems found while parsing input into domain types: the services' and models' own,
//! HTTP-free way to say "this field is wrong, and why".
//!
//! Services and models collect [`FieldProblem`]s (all of them, so one answer lists every bad
//! field); a domain error carries them (`ProductError::Validation(Vec<FieldProblem>)`), and the
//! API edge (`From<DomainError> for ApiError`) turns them into the problem body's `FieldError`s.
//! Nothing here knows about poem or problem+json.

/// One bad field: its dotted request path (`variants[0].sku`, `shipping_address.country`) and
/// what is wrong with it, phrased to follow the field name (`must not be empty`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Collects field problems so a request reports all of them at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldProblem::new(field, message));
    }

    /// A one-line human-readable text: trimmed, non-empty when `required`, at most `max`
    /// characters, no control characters. Returns the trimmed value.
    pub fn text(&mut self, field: &str, value: &str, required: bool, max: usize) -> String {
        self.checked_text(field, value, required, max, false)
    }

    /// Like [`Problems::text`], but line breaks and tabs are allowed (descriptions).
    pub fn text_block(&mut self, field: &str, value: &str, required: bool, max: usize) -> String {
        self.checked_text(field, value, required, max, true)
    }

    fn checked_text(&mut self, field: &str, value: &str, required: bool, max: usize, multiline: bool) -> String {
        let trimmed = value.trim();
        if required && trimmed.is_empty() {
            self.add(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
            self.add(field, "must not contain control characters");
        }
        trimmed.to_owned()
    }

    /// A phone number: digits with an optional leading `+` and separators, 5–20 digits.
    pub fn phone(&mut self, field: &str, value: &str) -> String {
        let trimmed = value.trim();
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        let allowed = trimmed
            .char_indices()
            .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.') || (c == '+' && i == 0));
        if !allowed || !(5..=20).contains(&digits) {
            self.add(field, "must be a phone number such as +91 80 1234 5678");
        }
        trimmed.to_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Vec<FieldProblem>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_every_problem_is_kept() {
        let mut problems = Problems::default();
        assert_eq!(problems.text("name", "  Mug ", true, 10), "Mug");
        problems.text("first", " ", true, 10);
        problems.text("second", "abcdefghijk", false, 10);
        problems.text("third", "a\nb", false, 10);
        assert_eq!(problems.text_block("description", "a\nb\tc", false, 10), "a\nb\tc");
        problems.text_block("notes", "a\u{7}b", false, 10);
        let fields: Vec<_> = problems.0.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["first", "second", "third", "notes"]);
        assert_eq!(problems.into_result().unwrap_err()[0], FieldProblem::new("first", "must not be empty"));
    }
}
