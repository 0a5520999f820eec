//! Tax helpers that are pure arithmetic, shared so every tax rule splits the same way.

use crate::money::div_round_half_away;
use crate::rule::TaxComponent;

/// Splits an already rounded tax amount into two halves for Indian GST (CGST, SGST).
///
/// The first half is rounded half away from zero, the second is the rest, so the two always add
/// up to `tax`: 16 167 → (8 084, 8 083), 1 → (1, 0). The tax is rounded once, per line, before it
/// is split; the halves are never rounded separately.
pub fn gst_split(tax: i64) -> (i64, i64) {
    // |tax / 2| ≤ 2^62, so both halves fit back into i64.
    let first = i64::try_from(div_round_half_away(i128::from(tax), 2)).unwrap_or(tax);
    let second = i64::try_from(i128::from(tax) - i128::from(first)).unwrap_or(0);
    (first, second)
}

/// The GST breakdown of one line's rounded tax: CGST + SGST (split with [`gst_split`]) when the
/// supply stays within the store's own state, IGST otherwise.
pub fn gst_breakdown(tax: i64, intra_state: bool) -> Vec<TaxComponent> {
    if intra_state {
        let (cgst, sgst) = gst_split(tax);
        vec![TaxComponent::new("CGST", cgst), TaxComponent::new("SGST", sgst)]
    } else {
        vec![TaxComponent::new("IGST", tax)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gst_split_rounds_the_first_half_and_gives_the_rest_to_the_second() {
        assert_eq!(gst_split(16_168), (8_084, 8_084));
        assert_eq!(gst_split(16_167), (8_084, 8_083));
        assert_eq!(gst_split(25_650), (12_825, 12_825));
        assert_eq!(gst_split(1), (1, 0));
        assert_eq!(gst_split(0), (0, 0));
        assert_eq!(gst_split(-3), (-2, -1));
    }

    #[test]
    fn gst_split_halves_always_add_up_even_at_the_limits() {
        for tax in [i64::MAX, i64::MAX - 1, i64::MIN, i64::MIN + 1, 7, 99_999] {
            let (first, second) = gst_split(tax);
            assert_eq!(i128::from(first) + i128::from(second), i128::from(tax), "{tax}");
        }
    }

    #[test]
    fn gst_breakdown_is_cgst_and_sgst_within_the_state_and_igst_across() {
        assert_eq!(
            gst_breakdown(16_167, true),
            vec![TaxComponent::new("CGST", 8_084), TaxComponent::new("SGST", 8_083)]
        );
        assert_eq!(gst_breakdown(16_167, false), vec![TaxComponent::new("IGST", 16_167)]);
    }
}
