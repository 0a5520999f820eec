//! Splitting one amount across lines so the parts add up exactly.

/// Why an amount cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// Amounts and weights are never negative.
    #[error("cannot allocate a negative amount or by a negative weight")]
    Negative,
    /// Allocating more than the weights' sum would push some part above its weight.
    #[error("cannot allocate {amount} over weights that sum to {total}")]
    ExceedsTotal {
        /// The amount to allocate.
        amount: i64,
        /// The sum of the weights.
        total: i128,
    },
}

/// Splits `amount` over `weights` pro rata with the largest-remainder method.
///
/// Each part is first `⌊amount × weight / Σweights⌋`; the units left over go one each to the
/// parts with the largest remainders, ties to the earlier index. The parts therefore sum to
/// `amount` exactly, a zero weight always gets zero, and no part exceeds its weight (because
/// `amount ≤ Σweights` is required). The pipeline uses it with line nets as the weights to spread a
/// cart-level discount over the lines.
pub fn allocate(amount: i64, weights: &[i64]) -> Result<Vec<i64>, AllocationError> {
    if amount < 0 || weights.iter().any(|w| *w < 0) {
        return Err(AllocationError::Negative);
    }
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    let amount_wide = i128::from(amount);
    if amount_wide > total {
        return Err(AllocationError::ExceedsTotal { amount, total });
    }
    if amount == 0 {
        return Ok(vec![0; weights.len()]);
    }

    // amount × weight < 2^63 × 2^63 fits in i128; every part ≤ its weight, so it fits in i64.
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (index, weight) in weights.iter().enumerate() {
        let exact = amount_wide * i128::from(*weight);
        let part = exact / total;
        given += part;
        parts.push(part);
        remainders.push((exact % total, index));
    }
    // Σ remainders = total × leftover and each remainder < total, so more parts have a non-zero
    // remainder than there are units left over: the +1s never reach a zero weight.
    let leftover = usize::try_from(amount_wide - given).unwrap_or(usize::MAX);
    remainders.sort_by(|(ra, ia), (rb, ib)| rb.cmp(ra).then(ia.cmp(ib)));
    for (_, index) in remainders.into_iter().take(leftover) {
        parts[index] += 1;
    }
    Ok(parts.into_iter().map(|p| i64::try_from(p).unwrap_or(i64::MAX)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_shares_need_no_remainder() {
        // Worked example: WELCOME10 on 99 800 + 30 000.
        assert_eq!(allocate(12_980, &[99_800, 30_000]), Ok(vec![9_980, 3_000]));
    }

    #[test]
    fn leftover_units_go_to_the_largest_remainders() {
        // 100 over 100:100:100 → 33.3 each; one unit left, remainders equal → earliest line.
        assert_eq!(allocate(100, &[100, 100, 100]), Ok(vec![34, 33, 33]));
        // 10 over 3:3:4 → 3, 3, 4 exactly.
        assert_eq!(allocate(10, &[3, 3, 4]), Ok(vec![3, 3, 4]));
        // 7 over 1:2:4 → 1, 2, 4 exactly.
        assert_eq!(allocate(7, &[1, 2, 4]), Ok(vec![1, 2, 4]));
        // 5 over 100:250:650 → 0.5, 1.25, 3.25 → floors 0,1,3; leftover 1 to the .5.
        assert_eq!(allocate(5, &[100, 250, 650]), Ok(vec![1, 1, 3]));
        // 2 over 1:1:1 → two leftovers go to the first two lines.
        assert_eq!(allocate(2, &[1, 1, 1]), Ok(vec![1, 1, 0]));
    }

    #[test]
    fn ties_go_to_the_earlier_line_even_after_a_larger_weight() {
        // 1 over 3:1:1:3 → 0.375, 0.125, 0.125, 0.375: the first 0.375 wins.
        assert_eq!(allocate(1, &[3, 1, 1, 3]), Ok(vec![1, 0, 0, 0]));
        // 3 over 1:2:2:1 → .5, 1, 1, .5: the leftover goes to line 0, not line 3.
        assert_eq!(allocate(3, &[1, 2, 2, 1]), Ok(vec![1, 1, 1, 0]));
    }

    #[test]
    fn a_zero_weight_line_gets_nothing() {
        assert_eq!(allocate(10, &[0, 30, 0, 40]), Ok(vec![0, 4, 0, 6]));
        assert_eq!(allocate(1, &[0, 1, 1]), Ok(vec![0, 1, 0]));
        assert_eq!(allocate(0, &[0, 0]), Ok(vec![0, 0]));
        assert_eq!(allocate(0, &[]), Ok(vec![]));
    }

    #[test]
    fn the_whole_total_takes_every_weight_exactly() {
        assert_eq!(allocate(8, &[5, 0, 3]), Ok(vec![5, 0, 3]));
    }

    #[test]
    fn parts_always_sum_to_the_amount_and_stay_within_weights() {
        let weights = [1, 7, 13, 0, 29, 31, 1_000_003];
        let total: i64 = weights.iter().sum();
        for amount in [1, 2, 3, 17, 999, 12_345, total - 1, total] {
            let parts = allocate(amount, &weights).unwrap();
            assert_eq!(parts.iter().sum::<i64>(), amount);
            assert!(parts.iter().zip(weights).all(|(p, w)| *p >= 0 && *p <= w));
        }
    }

    #[test]
    fn huge_amounts_do_not_overflow() {
        let parts = allocate(i64::MAX, &[i64::MAX, 0]).unwrap();
        assert_eq!(parts, vec![i64::MAX, 0]);
        let parts = allocate(i64::MAX - 1, &[i64::MAX / 2, i64::MAX / 2 + 1]).unwrap();
        assert_eq!(parts.iter().map(|p| i128::from(*p)).sum::<i128>(), i128::from(i64::MAX - 1));
    }

    #[test]
    fn refuses_negative_inputs_and_amounts_above_the_total() {
        assert_eq!(allocate(-1, &[1]), Err(AllocationError::Negative));
        assert_eq!(allocate(1, &[2, -1]), Err(AllocationError::Negative));
        assert_eq!(allocate(4, &[1, 2]), Err(AllocationError::ExceedsTotal { amount: 4, total: 3 }));
        assert_eq!(allocate(1, &[]), Err(AllocationError::ExceedsTotal { amount: 1, total: 0 }));
    }
}
