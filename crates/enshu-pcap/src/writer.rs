//! Writing classic pcap files, so that tests and tools can store rewritten
//! traffic in the format every tool reads.
//!
//! The writer takes any `std::io::Write`; the caller owns the file or
//! buffer, which keeps this crate free of path handling and easy to test
//! against a `Vec<u8>`.

use std::io::Write;

use crate::capture::{LinkType, TimestampPrecision};

/// Why a packet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing pcap output: {0}")]
    Io(#[from] std::io::Error),
    #[error("packet of {length} bytes is too large for a pcap record")]
    PacketTooLarge { length: usize },
    #[error(
        "timestamp {timestamp_ns} ns is past the year 2106, the limit of pcap's 32-bit seconds"
    )]
    TimestampTooLarge { timestamp_ns: u64 },
}

/// Writes a little-endian classic pcap file: one global header, then one
/// record per packet.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    output: W,
    precision: TimestampPrecision,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header at once.
    pub fn new(
        mut output: W,
        link_type: LinkType,
        precision: TimestampPrecision,
        snap_length: u32,
    ) -> Result<Self, WriteError> {
        let magic: u32 = match precision {
            TimestampPrecision::Microseconds => 0xa1b2_c3d4,
            TimestampPrecision::Nanoseconds => 0xa1b2_3c4d,
        };
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&magic.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&snap_length.to_le_bytes());
        header.extend_from_slice(&u32::from(link_type.0).to_le_bytes());
        output.write_all(&header)?;
        Ok(Self { output, precision })
    }

    /// Writes one record. `original_len` is the on-wire length; it is raised
    /// to the captured length if smaller, as readers expect.
    pub fn write_packet(
        &mut self,
        timestamp_ns: u64,
        data: &[u8],
        original_len: u32,
    ) -> Result<(), WriteError> {
        let captured_length = u32::try_from(data.len())
            .map_err(|_| WriteError::PacketTooLarge { length: data.len() })?;
        let seconds = u32::try_from(timestamp_ns / 1_000_000_000)
            .map_err(|_| WriteError::TimestampTooLarge { timestamp_ns })?;
        let nanoseconds = (timestamp_ns % 1_000_000_000) as u32;
        let fraction = match self.precision {
            TimestampPrecision::Microseconds => nanoseconds / 1_000,
            TimestampPrecision::Nanoseconds => nanoseconds,
        };
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&seconds.to_le_bytes());
        record[4..8].copy_from_slice(&fraction.to_le_bytes());
        record[8..12].copy_from_slice(&captured_length.to_le_bytes());
        record[12..16].copy_from_slice(&original_len.max(captured_length).to_le_bytes());
        self.output.write_all(&record)?;
        self.output.write_all(data)?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.output.flush()?)
    }

    /// Returns the underlying output, e.g. the finished `Vec<u8>`.
    pub fn into_inner(self) -> W {
        self.output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{ByteOrder, CaptureFormat, detect_format, read_all_packets};

    #[test]
    fn writes_what_the_reader_reads_back_in_both_precisions() {
        for precision in [
            TimestampPrecision::Microseconds,
            TimestampPrecision::Nanoseconds,
        ] {
            let mut writer =
                PcapWriter::new(Vec::new(), LinkType::ETHERNET, precision, 65535).unwrap();
            writer
                .write_packet(1_700_000_000_123_456_789, &[1, 2, 3, 4], 60)
                .unwrap();
            writer
                .write_packet(1_700_000_001_000_000_001, &[5; 14], 14)
                .unwrap();
            let bytes = writer.into_inner();
            assert_eq!(
                detect_format(&bytes).unwrap(),
                CaptureFormat::Pcap {
                    byte_order: ByteOrder::LittleEndian,
                    precision
                }
            );
            let packets = read_all_packets(&bytes).unwrap();
            assert_eq!(packets.len(), 2);
            let expected_first = match precision {
                TimestampPrecision::Microseconds => 1_700_000_000_123_456_000,
                TimestampPrecision::Nanoseconds => 1_700_000_000_123_456_789,
            };
            assert_eq!(packets[0].timestamp_ns, expected_first);
            assert_eq!(&*packets[0].data, &[1, 2, 3, 4]);
            assert_eq!(packets[0].original_len, 60);
            assert_eq!(packets[1].original_len, 14);
            assert_eq!(packets[1].link_type, LinkType::ETHERNET);
        }
    }

    #[test]
    fn refuses_timestamps_past_2106() {
        let mut writer = PcapWriter::new(
            Vec::new(),
            LinkType::ETHERNET,
            TimestampPrecision::Microseconds,
            65535,
        )
        .unwrap();
        let error = writer.write_packet(u64::MAX, &[0], 1).unwrap_err();
        assert!(error.to_string().contains("past the year 2106"));
    }
}
