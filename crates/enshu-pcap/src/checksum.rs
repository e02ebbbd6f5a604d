//! Internet checksums (RFC 1071) and their incremental update (RFC 1624).
//!
//! Rewriting changes a few 16-bit words of a header; updating the checksum
//! by the difference of those words, instead of summing the packet again,
//! is what keeps TCP and UDP checksums right on IP fragments, where the
//! first fragment carries a checksum over bytes that are in other packets.
//! It also keeps a checksum that was wrong in the capture exactly as wrong,
//! which is what a replay of a deliberately broken packet wants.

/// One's-complement sum of big-endian 16-bit words, unfolded; an odd final
/// byte is padded with zero.
pub(crate) fn ones_complement_sum(data: &[u8]) -> u32 {
    let mut sum: u32 = 0;
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Folds a running sum to 16 bits and complements it.
pub(crate) fn finish_checksum(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum of a header whose checksum field has been zeroed.
pub(crate) fn internet_checksum(data: &[u8]) -> u16 {
    finish_checksum(ones_complement_sum(data))
}

/// RFC 1624 equation 3: `HC' = ~(~HC + ~m + m')`, for every 16-bit word `m`
/// of `old_words` replaced by the word `m'` at the same position of
/// `new_words`. Both slices must have the same even length.
pub(crate) fn adjust_checksum(checksum: u16, old_words: &[u8], new_words: &[u8]) -> u16 {
    debug_assert_eq!(old_words.len(), new_words.len());
    debug_assert_eq!(old_words.len() % 2, 0);
    let mut sum = u32::from(!checksum);
    for (old_word, new_word) in old_words.chunks_exact(2).zip(new_words.chunks_exact(2)) {
        sum += u32::from(!u16::from_be_bytes([old_word[0], old_word[1]]));
        sum += u32::from(u16::from_be_bytes([new_word[0], new_word[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    finish_checksum(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_the_rfc_1071_example() {
        // RFC 1071 section 3: the sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn incremental_update_matches_a_full_recomputation() {
        let mut header = [
            0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 192, 168, 1,
            10, 8, 8, 8, 8,
        ];
        let original = internet_checksum(&header);
        header[10..12].copy_from_slice(&original.to_be_bytes());
        let old_addresses: Vec<u8> = header[12..20].to_vec();
        let new_addresses = [10, 101, 30, 10, 255, 255, 0, 1];
        header[12..20].copy_from_slice(&new_addresses);
        let updated = adjust_checksum(original, &old_addresses, &new_addresses);
        header[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(updated, internet_checksum(&header));
    }
}
