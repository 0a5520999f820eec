//! Applying one rule's output: validate all of it against a staged copy of the figures, then
//! commit, so an invalid output changes nothing.

use crate::allocate::allocate;
use crate::error::{AdjustmentError, PipelineError, VerdictError};
use crate::money::{MoneyError, add, narrow};
use crate::priced::{AppliedAdjustment, CouponResult, PricedCart, PricedLine};
use crate::rule::{Adjustment, AdjustmentKind, CouponErrorCode, CouponVerdict, RuleOutput, Target};

impl PricedCart {
    /// Applies `plugin`'s rule output, or nothing of it.
    ///
    /// Verdicts are checked first (each names a code of the cart, at most once; rejections carry
    /// an error code and a reason; nothing overturns an earlier acceptance or ineligibility, while
    /// an `unknown` is only provisional). Then the adjustments, in order, each against the figures
    /// left by the ones before it:
    ///
    /// - amounts are never negative, labels never empty, and only taxes are inclusive or broken
    ///   down (a breakdown sums to the amount);
    /// - a coupon code on an adjustment must be accepted, by this output or an earlier one;
    /// - a line discount is at most the line's current net; a cart discount at most the
    ///   merchandise net, and is allocated to lines by net with [`allocate`](crate::allocate());
    /// - an inclusive tax is at most what it is inside of (the line's net, the merchandise net,
    ///   the shipping total); exclusive tax, shipping and fees have no upper bound but overflow.
    ///
    /// The first failure is returned, naming the plugin and the adjustment or verdict.
    pub fn apply(&mut self, plugin: &str, output: RuleOutput) -> Result<(), PipelineError> {
        let coupons = self.staged_coupons(plugin, &output.coupons)?;
        let mut stage = Stage::new(self);
        for (index, adjustment) in output.adjustments.iter().enumerate() {
            stage.add(&self.lines, plugin, adjustment, &coupons).map_err(|reason| {
                PipelineError::InvalidAdjustment {
                    plugin: plugin.to_owned(),
                    index,
                    adjustment: Box::new(adjustment.clone()),
                    reason,
                }
            })?;
        }
        self.commit(stage, coupons);
        Ok(())
    }

    fn staged_coupons(&self, plugin: &str, verdicts: &[CouponVerdict]) -> Result<Vec<CouponResult>, PipelineError> {
        let mut coupons = self.coupons.clone();
        let mut judged = vec![false; coupons.len()];
        for (index, verdict) in verdicts.iter().enumerate() {
            let invalid = |reason| PipelineError::InvalidVerdict {
                plugin: plugin.to_owned(),
                index,
                code: verdict.code.clone(),
                reason,
            };
            let Some(position) = coupons.iter().position(|c| c.code.eq_ignore_ascii_case(&verdict.code)) else {
                return Err(invalid(VerdictError::NotInCart));
            };
            if std::mem::replace(&mut judged[position], true) {
                return Err(invalid(VerdictError::Duplicate));
            }
            if verdict.accepted && verdict.error_code.is_some() {
                return Err(invalid(VerdictError::ErrorCodeOnAccepted));
            }
            if !verdict.accepted && verdict.error_code.is_none() {
                return Err(invalid(VerdictError::MissingErrorCode));
            }
            if !verdict.accepted && verdict.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(invalid(VerdictError::MissingReason));
            }
            let current = &coupons[position];
            if current.is_final() {
                // Several coupon rules may share a chain: one that does not know a code another
                // has decided is not a conflict.
                if verdict.error_code == Some(CouponErrorCode::Unknown) {
                    continue;
                }
                let by = current.plugin.clone().unwrap_or_default();
                return Err(invalid(VerdictError::AlreadyDecided { by }));
            }
            coupons[position] = CouponResult {
                code: current.code.clone(),
                accepted: verdict.accepted,
                reason: verdict.reason.clone(),
                error_code: verdict.error_code,
                plugin: Some(plugin.to_owned()),
            };
        }
        Ok(coupons)
    }

    fn commit(&mut self, stage: Stage, coupons: Vec<CouponResult>) {
        for (index, line) in self.lines.iter_mut().enumerate() {
            line.discount = stage.discount[index];
            line.net = stage.net[index];
            line.tax = stage.tax[index];
            line.inclusive_tax = stage.inclusive_tax[index];
            line.total = stage.line_total[index];
        }
        for (index, entry) in stage.line_entries {
            self.lines[index].adjustments.push(entry);
        }
        self.adjustments.extend(stage.entries);
        self.discount_total = stage.discount_total;
        self.shipping_total = stage.shipping_total;
        self.fee_total = stage.fee_total;
        self.tax_total = stage.tax_total;
        self.inclusive_tax_total = stage.inclusive_tax_total;
        self.shipping_inclusive_tax = stage.shipping_inclusive_tax;
        self.total = stage.total;
        self.coupon_codes = coupons.iter().filter(|c| c.accepted).map(|c| c.code.clone()).collect();
        self.coupons = coupons;
    }
}

/// The figures as they would be after the adjustments staged so far.
struct Stage {
    subtotal: i64,
    discount: Vec<i64>,
    net: Vec<i64>,
    tax: Vec<i64>,
    inclusive_tax: Vec<i64>,
    line_total: Vec<i64>,
    discount_total: i64,
    shipping_total: i64,
    fee_total: i64,
    tax_total: i64,
    inclusive_tax_total: i64,
    shipping_inclusive_tax: i64,
    total: i64,
    entries: Vec<AppliedAdjustment>,
    line_entries: Vec<(usize, AppliedAdjustment)>,
}

impl Stage {
    fn new(priced: &PricedCart) -> Self {
        let column = |f: fn(&PricedLine) -> i64| priced.lines.iter().map(f).collect::<Vec<_>>();
        Stage {
            subtotal: priced.subtotal,
            discount: column(|l| l.discount),
            net: column(|l| l.net),
            tax: column(|l| l.tax),
            inclusive_tax: column(|l| l.inclusive_tax),
            line_total: column(|l| l.total),
            discount_total: priced.discount_total,
            shipping_total: priced.shipping_total,
            fee_total: priced.fee_total,
            tax_total: priced.tax_total,
            inclusive_tax_total: priced.inclusive_tax_total,
            shipping_inclusive_tax: priced.shipping_inclusive_tax,
            total: priced.total,
            entries: Vec::new(),
            line_entries: Vec::new(),
        }
    }

    fn merchandise_net(&self) -> i64 {
        self.subtotal - self.discount_total
    }

    fn line(lines: &[PricedLine], line_id: &str) -> Result<usize, AdjustmentError> {
        // A linear scan: carts are small, and a HashMap would pull a random seed into wasm guests.
        lines
            .iter()
            .position(|l| l.line_id == line_id)
            .ok_or_else(|| AdjustmentError::UnknownLine { line_id: line_id.to_owned() })
    }

    fn add(
        &mut self,
        lines: &[PricedLine],
        plugin: &str,
        adjustment: &Adjustment,
        coupons: &[CouponResult],
    ) -> Result<(), AdjustmentError> {
        check_shape(adjustment, coupons)?;
        let amount = adjustment.amount;
        let applied = applied(plugin, adjustment, amount);
        match (adjustment.kind, &adjustment.target, adjustment.inclusive) {
            (AdjustmentKind::Discount, Target::Line(line_id), _) => {
                let index = Self::line(lines, line_id)?;
                if amount > self.net[index] {
                    return Err(AdjustmentError::ExceedsLineNet { net: self.net[index] });
                }
                self.discount_line(index, amount)?;
                self.line_entries.push((index, applied.clone()));
            }
            (AdjustmentKind::Discount, Target::Cart, _) => {
                let net = self.merchandise_net();
                if amount > net {
                    return Err(AdjustmentError::ExceedsMerchandiseNet { net });
                }
                let shares = allocate(amount, &self.net).map_err(|_| AdjustmentError::ExceedsMerchandiseNet { net })?;
                for (index, share) in shares.into_iter().enumerate().filter(|(_, share)| *share > 0) {
                    self.discount_line(index, share)?;
                    self.line_entries.push((index, AppliedAdjustment { amount: share, ..applied.clone() }));
                }
            }
            (AdjustmentKind::Shipping, Target::Shipping, _) => self.shipping_total = add(self.shipping_total, amount)?,
            (AdjustmentKind::Fee, Target::Cart, _) => self.fee_total = add(self.fee_total, amount)?,
            (AdjustmentKind::Tax, Target::Line(line_id), inclusive) => {
                let index = Self::line(lines, line_id)?;
                if inclusive {
                    let inclusive_tax = add(self.inclusive_tax[index], amount)?;
                    if inclusive_tax > self.net[index] {
                        return Err(AdjustmentError::ExceedsLineNet { net: self.net[index] });
                    }
                    self.inclusive_tax[index] = inclusive_tax;
                    self.inclusive_tax_total = add(self.inclusive_tax_total, amount)?;
                } else {
                    self.tax[index] = add(self.tax[index], amount)?;
                    self.line_total[index] = add(self.net[index], self.tax[index])?;
                    self.tax_total = add(self.tax_total, amount)?;
                }
                self.line_entries.push((index, applied.clone()));
            }
            (AdjustmentKind::Tax, Target::Cart, true) => {
                let net = self.merchandise_net();
                let merchandise_inclusive = self.inclusive_tax_total - self.shipping_inclusive_tax;
                if add(merchandise_inclusive, amount)? > net {
                    return Err(AdjustmentError::ExceedsMerchandiseNet { net });
                }
                self.inclusive_tax_total = add(self.inclusive_tax_total, amount)?;
            }
            (AdjustmentKind::Tax, Target::Shipping, true) => {
                let shipping_inclusive_tax = add(self.shipping_inclusive_tax, amount)?;
                if shipping_inclusive_tax > self.shipping_total {
                    return Err(AdjustmentError::ExceedsShipping { shipping: self.shipping_total });
                }
                self.shipping_inclusive_tax = shipping_inclusive_tax;
                self.inclusive_tax_total = add(self.inclusive_tax_total, amount)?;
            }
            (AdjustmentKind::Tax, Target::Cart | Target::Shipping, false) => {
                self.tax_total = add(self.tax_total, amount)?;
            }
            (kind, target, _) => return Err(AdjustmentError::TargetNotAllowed { kind, target: target.clone() }),
        }
        self.total = self.recompute_total()?;
        self.entries.push(applied);
        Ok(())
    }

    fn discount_line(&mut self, index: usize, amount: i64) -> Result<(), AdjustmentError> {
        // Callers have checked amount ≤ net, so the net stays ≥ 0 and the sums below ≤ subtotal.
        self.net[index] -= amount;
        self.discount[index] = add(self.discount[index], amount)?;
        self.line_total[index] = add(self.net[index], self.tax[index])?;
        self.discount_total = add(self.discount_total, amount)?;
        Ok(())
    }

    fn recompute_total(&self) -> Result<i64, AdjustmentError> {
        let total = i128::from(self.subtotal) - i128::from(self.discount_total)
            + i128::from(self.shipping_total)
            + i128::from(self.fee_total)
            + i128::from(self.tax_total);
        // Every term is ≥ 0 and discounts never exceed the subtotal, so the total cannot go
        // below zero; should that ever break, refuse rather than clamp a wrong price.
        if total < 0 {
            return Err(AdjustmentError::NegativeTotal);
        }
        Ok(narrow(total)?)
    }
}

impl From<MoneyError> for AdjustmentError {
    fn from(_: MoneyError) -> Self {
        AdjustmentError::Overflow
    }
}

/// The checks that need no figures.
fn check_shape(adjustment: &Adjustment, coupons: &[CouponResult]) -> Result<(), AdjustmentError> {
    if adjustment.amount < 0 {
        return Err(AdjustmentError::NegativeAmount);
    }
    if adjustment.label.trim().is_empty() {
        return Err(AdjustmentError::EmptyLabel);
    }
    let is_tax = adjustment.kind == AdjustmentKind::Tax;
    if !is_tax && (adjustment.inclusive || !adjustment.tax_breakdown.is_empty()) {
        return Err(AdjustmentError::NotATax);
    }
    if let Some(bad) = adjustment.tax_breakdown.iter().find(|c| c.amount < 0 || c.name.trim().is_empty()) {
        return Err(AdjustmentError::InvalidTaxComponent { name: bad.name.clone() });
    }
    if !adjustment.tax_breakdown.is_empty() {
        let sum: i128 = adjustment.tax_breakdown.iter().map(|c| i128::from(c.amount)).sum();
        if sum != i128::from(adjustment.amount) {
            return Err(AdjustmentError::BreakdownMismatch { sum });
        }
    }
    if let Some(code) = &adjustment.code
        && !coupons.iter().any(|c| c.accepted && c.code.eq_ignore_ascii_case(code))
    {
        return Err(AdjustmentError::CouponNotAccepted { code: code.clone() });
    }
    Ok(())
}

fn applied(plugin: &str, adjustment: &Adjustment, amount: i64) -> AppliedAdjustment {
    AppliedAdjustment {
        plugin: plugin.to_owned(),
        kind: adjustment.kind,
        target: adjustment.target.clone(),
        amount,
        code: adjustment.code.clone(),
        label: adjustment.label.clone(),
        tax_breakdown: adjustment.tax_breakdown.clone(),
        inclusive: adjustment.inclusive,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod verdict_tests;
