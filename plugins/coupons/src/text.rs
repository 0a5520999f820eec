//! Text a shopper reads: amounts of money, percentages and moments in time.
//!
//! Written by hand because the rule runs in a sandbox without locale data or a clock library.

use commerce_sdk::Currency;

/// An amount of minor units as a shopper reads it: `₹1,50,000.00` (rupees with the sign and Indian
/// digit grouping), `1,234.56 USD` otherwise.
pub(crate) fn money(amount: i64, currency: Currency) -> String {
    let (scale, width) = minor_unit(currency);
    let magnitude = amount.unsigned_abs();
    let indian = currency.as_str() == "INR";
    let whole = group(magnitude / scale, indian);
    let number = if width == 0 { whole } else { format!("{whole}.{:0width$}", magnitude % scale) };
    let sign = if amount < 0 { "-" } else { "" };
    if indian { format!("{sign}₹{number}") } else { format!("{sign}{number} {currency}") }
}

/// Minor units per major unit, and the digits after the decimal point (ISO 4217). The common
/// exceptions to two decimals are listed; anything else is taken to have two.
fn minor_unit(currency: Currency) -> (u64, usize) {
    match currency.as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND" | "VUV"
        | "XAF" | "XOF" | "XPF" => (1, 0),
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => (1_000, 3),
        _ => (100, 2),
    }
}

/// Digits grouped with commas: threes (1,500,000), or in the Indian way, the last three and then
/// twos (15,00,000).
fn group(number: u64, indian: bool) -> String {
    let digits = number.to_string();
    let mut rest = digits.as_str();
    let mut groups = Vec::new();
    let mut size = 3;
    while rest.len() > size {
        let (head, tail) = rest.split_at(rest.len() - size);
        groups.push(tail);
        rest = head;
        if indian {
            size = 2;
        }
    }
    groups.push(rest);
    groups.reverse();
    groups.join(",")
}

/// A Unix time in milliseconds as a UTC date and time: "1 Jan 2026, 00:00 UTC".
pub(crate) fn moment(unix_ms: i64) -> String {
    const MS_PER_DAY: i64 = 86_400_000;
    let (year, month, day) = civil_from_days(unix_ms.div_euclid(MS_PER_DAY));
    let minutes = unix_ms.rem_euclid(MS_PER_DAY) / 60_000;
    let month = match month {
        1 => "Jan",
        2 => "Feb",
        3 => "Mar",
        4 => "Apr",
        5 => "May",
        6 => "Jun",
        7 => "Jul",
        8 => "Aug",
        9 => "Sep",
        10 => "Oct",
        11 => "Nov",
        _ => "Dec",
    };
    format!("{day} {month} {year}, {:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::new(code).unwrap()
    }

    #[test]
    fn rupees_have_the_sign_and_indian_grouping() {
        let inr = currency("INR");
        assert_eq!(money(150_000, inr), "₹1,500.00");
        assert_eq!(money(7_500, inr), "₹75.00");
        assert_eq!(money(5, inr), "₹0.05");
        assert_eq!(money(0, inr), "₹0.00");
        assert_eq!(money(15_000_000, inr), "₹1,50,000.00");
        assert_eq!(money(1_234_567_890, inr), "₹1,23,45,678.90");
        assert_eq!(money(-20_000, inr), "-₹200.00");
    }

    #[test]
    fn other_currencies_have_the_code_and_their_own_decimals() {
        assert_eq!(money(1_234, currency("USD")), "12.34 USD");
        assert_eq!(money(123_456_789, currency("EUR")), "1,234,567.89 EUR");
        assert_eq!(money(1_500, currency("JPY")), "1,500 JPY");
        assert_eq!(money(1_500, currency("KWD")), "1.500 KWD");
        assert!(money(i64::MIN, currency("USD")).starts_with("-92,233,720,368,547,758.08"));
    }

    #[test]
    fn moments_are_utc_dates_and_times() {
        assert_eq!(moment(0), "1 Jan 1970, 00:00 UTC");
        assert_eq!(moment(1_767_225_600_000), "1 Jan 2026, 00:00 UTC");
        assert_eq!(moment(1_709_164_800_000 + 13 * 3_600_000 + 5 * 60_000), "29 Feb 2024, 13:05 UTC");
        assert_eq!(moment(-1), "31 Dec 1969, 23:59 UTC");
        assert_eq!(moment(951_782_400_000), "29 Feb 2000, 00:00 UTC");
    }
}
