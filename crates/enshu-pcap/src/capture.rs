//! Reading classic pcap and pcapng captures from a byte slice.
//!
//! The reader works on bytes already in memory and hands out packets that
//! borrow from them, so a packet never costs an allocation and no length
//! field read from the file can make the reader allocate: every length is
//! checked against the bytes that remain before it is used. Scenario authors
//! supply these files, so every malformed input is reported as an error with
//! the byte offset and structure at fault, never as a panic.
//!
//! The format is chosen by magic number only; file names lie (a `.pcap`
//! file is often pcapng).

use std::borrow::Cow;
use std::fmt;

/// A link-layer header type as numbered by tcpdump.org's LINKTYPE_ registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u16);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP: the packet starts with an IPv4 or IPv6 header.
    pub const RAW: LinkType = LinkType(101);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);

    /// The registry name, for messages and summaries.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::NULL => "null",
            LinkType::ETHERNET => "ethernet",
            LinkType::RAW => "raw ip",
            LinkType::LINUX_SLL => "linux cooked",
            LinkType::IPV4 => "raw ipv4",
            LinkType::IPV6 => "raw ipv6",
            _ => "other",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({})", self.0, self.name())
    }
}

/// Which container format a capture uses, with the details found in its
/// first header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap {
        byte_order: ByteOrder,
        precision: TimestampPrecision,
    },
    Pcapng,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    LittleEndian,
    BigEndian,
}

/// Timestamp unit of a classic pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampPrecision {
    Microseconds,
    Nanoseconds,
}

/// A capture interface: classic pcap has exactly one, pcapng one per
/// Interface Description Block (numbered across all sections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Which pcapng section declared it (always 0 for classic pcap).
    pub section_index: u32,
    pub link_type: LinkType,
    pub snap_length: u32,
    /// `if_name` option, when present.
    pub name: Option<String>,
    pub timestamp_resolution: TimestampResolution,
    /// `if_tsoffset` option in seconds, added to every timestamp.
    pub timestamp_offset_seconds: i64,
}

/// Units of a timestamp tick, from pcapng's `if_tsresol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampResolution {
    /// One tick is 10^-exponent seconds.
    PowerOfTen(u8),
    /// One tick is 2^-exponent seconds.
    PowerOfTwo(u8),
}

impl TimestampResolution {
    pub const MICROSECONDS: TimestampResolution = TimestampResolution::PowerOfTen(6);
    pub const NANOSECONDS: TimestampResolution = TimestampResolution::PowerOfTen(9);

    /// Converts a tick count to nanoseconds, or `None` if it overflows u64.
    pub fn ticks_to_nanoseconds(self, ticks: u64) -> Option<u64> {
        match self {
            TimestampResolution::PowerOfTen(exponent) if exponent <= 9 => {
                ticks.checked_mul(10u64.pow(u32::from(9 - exponent)))
            }
            TimestampResolution::PowerOfTen(exponent) => {
                let divisor = 10u128.checked_pow(u32::from(exponent - 9))?;
                u64::try_from(u128::from(ticks) / divisor).ok()
            }
            TimestampResolution::PowerOfTwo(exponent) => {
                let nanoseconds = (u128::from(ticks) * 1_000_000_000) >> exponent;
                u64::try_from(nanoseconds).ok()
            }
        }
    }
}

/// One captured packet. `data` borrows from the capture bytes when read and
/// becomes owned once rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// Index into [`CaptureReader::interfaces`].
    pub interface: u32,
    pub link_type: LinkType,
    /// The captured bytes (possibly fewer than `original_len`).
    pub data: Cow<'a, [u8]>,
    /// Length of the packet on the wire.
    pub original_len: u32,
}

impl Packet<'_> {
    /// Detaches the packet from the capture bytes.
    pub fn into_owned(self) -> Packet<'static> {
        Packet {
            timestamp_ns: self.timestamp_ns,
            interface: self.interface,
            link_type: self.link_type,
            data: Cow::Owned(self.data.into_owned()),
            original_len: self.original_len,
        }
    }
}

/// Why a capture could not be read. Offsets count bytes from the start of
/// the file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("capture is too short to hold a magic number ({length} bytes)")]
    TooShortForMagic { length: usize },
    #[error("unknown magic number {magic:#010x} at byte offset 0: neither pcap nor pcapng")]
    UnknownMagic { magic: u32 },
    #[error(
        "truncated {structure} at byte offset {offset}: needs {needed} bytes, only {available} remain"
    )]
    Truncated {
        structure: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error(
        "malformed pcapng {block_name} block (type {block_type:#010x}) at byte offset {offset}: {problem}"
    )]
    MalformedBlock {
        block_type: u32,
        block_name: &'static str,
        offset: usize,
        problem: String,
    },
    #[error("reading capture file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

const PCAP_MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NANOSECONDS: u32 = 0xa1b2_3c4d;
const PCAP_GLOBAL_HEADER_LENGTH: usize = 24;
const PCAP_RECORD_HEADER_LENGTH: usize = 16;

const PCAPNG_SECTION_HEADER: u32 = 0x0a0d_0d0a;
const PCAPNG_INTERFACE_DESCRIPTION: u32 = 0x0000_0001;
const PCAPNG_OBSOLETE_PACKET: u32 = 0x0000_0002;
const PCAPNG_SIMPLE_PACKET: u32 = 0x0000_0003;
const PCAPNG_ENHANCED_PACKET: u32 = 0x0000_0006;
const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const PCAPNG_MINIMUM_BLOCK_LENGTH: usize = 12;

const OPTION_END: u16 = 0;
const OPTION_INTERFACE_NAME: u16 = 2;
const OPTION_TIMESTAMP_RESOLUTION: u16 = 9;
const OPTION_TIMESTAMP_OFFSET: u16 = 14;

fn pcapng_block_name(block_type: u32) -> &'static str {
    match block_type {
        PCAPNG_SECTION_HEADER => "section header",
        PCAPNG_INTERFACE_DESCRIPTION => "interface description",
        PCAPNG_OBSOLETE_PACKET => "obsolete packet",
        PCAPNG_SIMPLE_PACKET => "simple packet",
        0x0000_0004 => "name resolution",
        0x0000_0005 => "interface statistics",
        PCAPNG_ENHANCED_PACKET => "enhanced packet",
        _ => "unknown",
    }
}

/// Identifies the format from the first bytes of a capture.
pub fn detect_format(bytes: &[u8]) -> Result<CaptureFormat, CaptureError> {
    let Some(magic_bytes) = bytes.get(..4) else {
        return Err(CaptureError::TooShortForMagic {
            length: bytes.len(),
        });
    };
    let magic_bytes: [u8; 4] = magic_bytes.try_into().expect("slice of four bytes");
    let little_endian = u32::from_le_bytes(magic_bytes);
    let big_endian = u32::from_be_bytes(magic_bytes);
    let pcap = |byte_order, precision| {
        Ok(CaptureFormat::Pcap {
            byte_order,
            precision,
        })
    };
    match (little_endian, big_endian) {
        (PCAPNG_SECTION_HEADER, _) => Ok(CaptureFormat::Pcapng),
        (PCAP_MAGIC_MICROSECONDS, _) => {
            pcap(ByteOrder::LittleEndian, TimestampPrecision::Microseconds)
        }
        (PCAP_MAGIC_NANOSECONDS, _) => {
            pcap(ByteOrder::LittleEndian, TimestampPrecision::Nanoseconds)
        }
        (_, PCAP_MAGIC_MICROSECONDS) => {
            pcap(ByteOrder::BigEndian, TimestampPrecision::Microseconds)
        }
        (_, PCAP_MAGIC_NANOSECONDS) => pcap(ByteOrder::BigEndian, TimestampPrecision::Nanoseconds),
        _ => Err(CaptureError::UnknownMagic { magic: big_endian }),
    }
}

/// Reads a whole capture file into memory. The only I/O in the crate; the
/// file size bounds everything the reader later allocates.
pub fn read_capture_file(path: &std::path::Path) -> Result<Vec<u8>, CaptureError> {
    std::fs::read(path).map_err(|source| CaptureError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads every packet of a capture into a vector, stopping at the first
/// error.
pub fn read_all_packets(bytes: &[u8]) -> Result<Vec<Packet<'_>>, CaptureError> {
    CaptureReader::new(bytes)?.collect()
}

/// Iterates over the packets of a pcap or pcapng capture held in memory.
///
/// Yields `Err` at most once, then stops.
#[derive(Debug)]
pub struct CaptureReader<'a> {
    bytes: &'a [u8],
    offset: usize,
    format: CaptureFormat,
    interfaces: Vec<Interface>,
    /// Byte order of the current pcapng section, or of the pcap file.
    byte_order: ByteOrder,
    /// Index in `interfaces` of the current section's first interface.
    section_first_interface: usize,
    section_count: u32,
    last_timestamp_ns: u64,
    finished: bool,
}

impl<'a> CaptureReader<'a> {
    /// Checks the magic number and the file header; packets are read lazily.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        let format = detect_format(bytes)?;
        let mut reader = CaptureReader {
            bytes,
            offset: 0,
            format,
            interfaces: Vec::new(),
            byte_order: ByteOrder::LittleEndian,
            section_first_interface: 0,
            section_count: 0,
            last_timestamp_ns: 0,
            finished: false,
        };
        match format {
            CaptureFormat::Pcap {
                byte_order,
                precision,
            } => {
                reader.byte_order = byte_order;
                reader.read_pcap_global_header(precision)?;
            }
            CaptureFormat::Pcapng => {
                // The first block must be a section header; reading it here
                // makes a capture without one fail at open time.
                reader.read_pcapng_block()?;
            }
        }
        Ok(reader)
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Interfaces declared so far (pcapng may declare more as reading goes on).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    fn slice_at(
        &self,
        offset: usize,
        length: usize,
        structure: &'static str,
    ) -> Result<&'a [u8], CaptureError> {
        let available = self.bytes.len().saturating_sub(offset);
        if length > available {
            return Err(CaptureError::Truncated {
                structure,
                offset,
                needed: length,
                available,
            });
        }
        Ok(&self.bytes[offset..offset + length])
    }

    fn read_pcap_global_header(
        &mut self,
        precision: TimestampPrecision,
    ) -> Result<(), CaptureError> {
        let header = self.slice_at(0, PCAP_GLOBAL_HEADER_LENGTH, "pcap global header")?;
        let snap_length = read_u32(header, 16, self.byte_order);
        // Bits 16..32 of the link type field carry FCS information.
        let link_type = LinkType((read_u32(header, 20, self.byte_order) & 0xffff) as u16);
        let timestamp_resolution = match precision {
            TimestampPrecision::Microseconds => TimestampResolution::MICROSECONDS,
            TimestampPrecision::Nanoseconds => TimestampResolution::NANOSECONDS,
        };
        self.interfaces.push(Interface {
            section_index: 0,
            link_type,
            snap_length,
            name: None,
            timestamp_resolution,
            timestamp_offset_seconds: 0,
        });
        self.offset = PCAP_GLOBAL_HEADER_LENGTH;
        Ok(())
    }

    fn read_pcap_record(&mut self) -> Result<Option<Packet<'a>>, CaptureError> {
        if self.offset == self.bytes.len() {
            return Ok(None);
        }
        let record_offset = self.offset;
        let header = self.slice_at(
            record_offset,
            PCAP_RECORD_HEADER_LENGTH,
            "pcap record header",
        )?;
        let seconds = u64::from(read_u32(header, 0, self.byte_order));
        let fraction = u64::from(read_u32(header, 4, self.byte_order));
        let captured_length = read_u32(header, 8, self.byte_order);
        let original_len = read_u32(header, 12, self.byte_order);
        let interface = &self.interfaces[0];
        // A sub-second field at or above one second is out of spec but read
        // as tcpdump does; u32 seconds and fractions cannot overflow u64 here.
        let fraction_to_nanoseconds = match interface.timestamp_resolution {
            TimestampResolution::NANOSECONDS => 1,
            _ => 1_000,
        };
        let timestamp_ns = seconds * 1_000_000_000 + fraction * fraction_to_nanoseconds;
        let data = self.slice_at(
            record_offset + PCAP_RECORD_HEADER_LENGTH,
            captured_length as usize,
            "pcap packet data",
        )?;
        self.offset = record_offset + PCAP_RECORD_HEADER_LENGTH + data.len();
        Ok(Some(Packet {
            timestamp_ns,
            interface: 0,
            link_type: interface.link_type,
            data: Cow::Borrowed(data),
            original_len,
        }))
    }

    /// Reads one pcapng block, returning a packet if it held one.
    fn read_pcapng_block(&mut self) -> Result<Option<Packet<'a>>, CaptureError> {
        let block_offset = self.offset;
        let type_bytes = self.slice_at(block_offset, 4, "pcapng block type")?;
        let raw_type = u32::from_le_bytes(type_bytes.try_into().expect("four bytes"));
        if raw_type == PCAPNG_SECTION_HEADER {
            // A section header decides the byte order of itself and what follows.
            let magic = self.slice_at(block_offset + 8, 4, "pcapng byte-order magic")?;
            self.byte_order = match u32::from_le_bytes(magic.try_into().expect("four bytes")) {
                PCAPNG_BYTE_ORDER_MAGIC => ByteOrder::LittleEndian,
                value if value.swap_bytes() == PCAPNG_BYTE_ORDER_MAGIC => ByteOrder::BigEndian,
                value => {
                    return Err(self.malformed(
                        PCAPNG_SECTION_HEADER,
                        block_offset,
                        format!(
                            "byte-order magic {value:#010x} is not 0x1a2b3c4d in either byte order"
                        ),
                    ));
                }
            };
        } else if block_offset == 0 {
            return Err(self.malformed(
                raw_type,
                0,
                "file does not start with a section header".into(),
            ));
        }
        let block_type = read_u32(type_bytes, 0, self.byte_order);
        let length_bytes = self.slice_at(block_offset + 4, 4, "pcapng block length")?;
        let block_length = read_u32(length_bytes, 0, self.byte_order) as usize;
        if block_length < PCAPNG_MINIMUM_BLOCK_LENGTH || !block_length.is_multiple_of(4) {
            return Err(self.malformed(
                block_type,
                block_offset,
                format!("block length {block_length} is below 12 or not a multiple of 4"),
            ));
        }
        let block = self.slice_at(block_offset, block_length, "pcapng block")?;
        let trailing_length = read_u32(block, block_length - 4, self.byte_order) as usize;
        if trailing_length != block_length {
            return Err(self.malformed(
                block_type,
                block_offset,
                format!("trailing block length {trailing_length} differs from leading length {block_length}"),
            ));
        }
        let body = &block[8..block_length - 4];
        self.offset = block_offset + block_length;
        match block_type {
            PCAPNG_SECTION_HEADER => {
                self.read_section_header(body, block_offset)?;
                Ok(None)
            }
            PCAPNG_INTERFACE_DESCRIPTION => {
                self.read_interface_description(body, block_offset)?;
                Ok(None)
            }
            PCAPNG_ENHANCED_PACKET => self.read_enhanced_packet(body, block_offset).map(Some),
            PCAPNG_SIMPLE_PACKET => self.read_simple_packet(body, block_offset).map(Some),
            PCAPNG_OBSOLETE_PACKET => self.read_obsolete_packet(body, block_offset).map(Some),
            _ => Ok(None),
        }
    }

    fn malformed(&self, block_type: u32, offset: usize, problem: String) -> CaptureError {
        CaptureError::MalformedBlock {
            block_type,
            block_name: pcapng_block_name(block_type),
            offset,
            problem,
        }
    }

    fn read_section_header(
        &mut self,
        body: &[u8],
        block_offset: usize,
    ) -> Result<(), CaptureError> {
        // byte-order magic (4), major (2), minor (2), section length (8)
        if body.len() < 16 {
            return Err(self.malformed(
                PCAPNG_SECTION_HEADER,
                block_offset,
                format!("body of {} bytes is shorter than 16", body.len()),
            ));
        }
        let major_version = read_u16(body, 4, self.byte_order);
        if major_version != 1 {
            return Err(self.malformed(
                PCAPNG_SECTION_HEADER,
                block_offset,
                format!("unsupported major version {major_version} (only 1 is defined)"),
            ));
        }
        self.section_first_interface = self.interfaces.len();
        self.section_count += 1;
        Ok(())
    }

    fn read_interface_description(
        &mut self,
        body: &[u8],
        block_offset: usize,
    ) -> Result<(), CaptureError> {
        if body.len() < 8 {
            return Err(self.malformed(
                PCAPNG_INTERFACE_DESCRIPTION,
                block_offset,
                format!("body of {} bytes is shorter than 8", body.len()),
            ));
        }
        let mut interface = Interface {
            section_index: self.section_count.saturating_sub(1),
            link_type: LinkType(read_u16(body, 0, self.byte_order)),
            snap_length: read_u32(body, 4, self.byte_order),
            name: None,
            timestamp_resolution: TimestampResolution::MICROSECONDS,
            timestamp_offset_seconds: 0,
        };
        for option in self.options(&body[8..], PCAPNG_INTERFACE_DESCRIPTION, block_offset)? {
            let (code, value) = option;
            match code {
                OPTION_INTERFACE_NAME => {
                    interface.name = Some(String::from_utf8_lossy(value).into_owned())
                }
                OPTION_TIMESTAMP_RESOLUTION => {
                    let &[resolution] = value else {
                        return Err(self.malformed(
                            PCAPNG_INTERFACE_DESCRIPTION,
                            block_offset,
                            format!("if_tsresol option has length {} instead of 1", value.len()),
                        ));
                    };
                    let exponent = resolution & 0x7f;
                    interface.timestamp_resolution = if resolution & 0x80 == 0 {
                        if exponent > 30 {
                            return Err(self.malformed(
                                PCAPNG_INTERFACE_DESCRIPTION,
                                block_offset,
                                format!(
                                    "if_tsresol 10^-{exponent} is finer than supported (10^-30)"
                                ),
                            ));
                        }
                        TimestampResolution::PowerOfTen(exponent)
                    } else {
                        if exponent > 63 {
                            return Err(self.malformed(
                                PCAPNG_INTERFACE_DESCRIPTION,
                                block_offset,
                                format!("if_tsresol 2^-{exponent} is finer than supported (2^-63)"),
                            ));
                        }
                        TimestampResolution::PowerOfTwo(exponent)
                    };
                }
                OPTION_TIMESTAMP_OFFSET => {
                    if value.len() != 8 {
                        return Err(self.malformed(
                            PCAPNG_INTERFACE_DESCRIPTION,
                            block_offset,
                            format!("if_tsoffset option has length {} instead of 8", value.len()),
                        ));
                    }
                    interface.timestamp_offset_seconds = read_u64(value, 0, self.byte_order) as i64;
                }
                _ => {}
            }
        }
        self.interfaces.push(interface);
        Ok(())
    }

    /// Splits an options area into (code, value) pairs, checking every length.
    fn options<'b>(
        &self,
        mut area: &'b [u8],
        block_type: u32,
        block_offset: usize,
    ) -> Result<Vec<(u16, &'b [u8])>, CaptureError> {
        let mut options = Vec::new();
        while area.len() >= 4 {
            let code = read_u16(area, 0, self.byte_order);
            let value_length = usize::from(read_u16(area, 2, self.byte_order));
            if code == OPTION_END {
                break;
            }
            let padded_length = value_length.div_ceil(4) * 4;
            if 4 + padded_length > area.len() {
                return Err(self.malformed(
                    block_type,
                    block_offset,
                    format!(
                        "option {code} claims {value_length} bytes but only {} remain in the block",
                        area.len() - 4
                    ),
                ));
            }
            options.push((code, &area[4..4 + value_length]));
            area = &area[4 + padded_length..];
        }
        Ok(options)
    }

    fn interface_for(
        &self,
        local_interface: u32,
        block_type: u32,
        block_offset: usize,
    ) -> Result<(u32, &Interface), CaptureError> {
        let section_interfaces = &self.interfaces[self.section_first_interface..];
        match section_interfaces.get(local_interface as usize) {
            Some(interface) => Ok(((self.section_first_interface + local_interface as usize) as u32, interface)),
            None => Err(self.malformed(
                block_type,
                block_offset,
                format!(
                    "refers to interface {local_interface} but the section declares {} interface(s)",
                    section_interfaces.len()
                ),
            )),
        }
    }

    fn timestamp(
        &self,
        interface: &Interface,
        ticks: u64,
        block_type: u32,
        block_offset: usize,
    ) -> Result<u64, CaptureError> {
        let overflow = || {
            self.malformed(
                block_type,
                block_offset,
                format!("timestamp {ticks} overflows nanoseconds since 1970"),
            )
        };
        let nanoseconds = interface
            .timestamp_resolution
            .ticks_to_nanoseconds(ticks)
            .ok_or_else(overflow)?;
        let offset_ns = i128::from(interface.timestamp_offset_seconds) * 1_000_000_000;
        u64::try_from(i128::from(nanoseconds) + offset_ns).map_err(|_| overflow())
    }

    fn packet_data(
        &self,
        body: &'a [u8],
        start: usize,
        captured_length: u32,
        block_type: u32,
        block_offset: usize,
    ) -> Result<&'a [u8], CaptureError> {
        let captured_length = captured_length as usize;
        match body
            .get(start..)
            .filter(|rest| rest.len() >= captured_length)
        {
            Some(rest) => Ok(&rest[..captured_length]),
            None => Err(self.malformed(
                block_type,
                block_offset,
                format!(
                    "captured length {captured_length} exceeds the {} bytes left in the block",
                    body.len().saturating_sub(start)
                ),
            )),
        }
    }

    fn read_enhanced_packet(
        &self,
        body: &'a [u8],
        block_offset: usize,
    ) -> Result<Packet<'a>, CaptureError> {
        if body.len() < 20 {
            return Err(self.malformed(
                PCAPNG_ENHANCED_PACKET,
                block_offset,
                format!("body of {} bytes is shorter than 20", body.len()),
            ));
        }
        let local_interface = read_u32(body, 0, self.byte_order);
        let ticks = (u64::from(read_u32(body, 4, self.byte_order)) << 32)
            | u64::from(read_u32(body, 8, self.byte_order));
        let captured_length = read_u32(body, 12, self.byte_order);
        let original_len = read_u32(body, 16, self.byte_order);
        let (interface_index, interface) =
            self.interface_for(local_interface, PCAPNG_ENHANCED_PACKET, block_offset)?;
        let timestamp_ns =
            self.timestamp(interface, ticks, PCAPNG_ENHANCED_PACKET, block_offset)?;
        let data = self.packet_data(
            body,
            20,
            captured_length,
            PCAPNG_ENHANCED_PACKET,
            block_offset,
        )?;
        Ok(Packet {
            timestamp_ns,
            interface: interface_index,
            link_type: interface.link_type,
            data: Cow::Borrowed(data),
            original_len,
        })
    }

    fn read_obsolete_packet(
        &self,
        body: &'a [u8],
        block_offset: usize,
    ) -> Result<Packet<'a>, CaptureError> {
        if body.len() < 20 {
            return Err(self.malformed(
                PCAPNG_OBSOLETE_PACKET,
                block_offset,
                format!("body of {} bytes is shorter than 20", body.len()),
            ));
        }
        let local_interface = u32::from(read_u16(body, 0, self.byte_order));
        let ticks = (u64::from(read_u32(body, 4, self.byte_order)) << 32)
            | u64::from(read_u32(body, 8, self.byte_order));
        let captured_length = read_u32(body, 12, self.byte_order);
        let original_len = read_u32(body, 16, self.byte_order);
        let (interface_index, interface) =
            self.interface_for(local_interface, PCAPNG_OBSOLETE_PACKET, block_offset)?;
        let timestamp_ns =
            self.timestamp(interface, ticks, PCAPNG_OBSOLETE_PACKET, block_offset)?;
        let data = self.packet_data(
            body,
            20,
            captured_length,
            PCAPNG_OBSOLETE_PACKET,
            block_offset,
        )?;
        Ok(Packet {
            timestamp_ns,
            interface: interface_index,
            link_type: interface.link_type,
            data: Cow::Borrowed(data),
            original_len,
        })
    }

    /// Simple packet blocks carry no timestamp; they get the previous
    /// packet's, so a replay schedule stays in order.
    fn read_simple_packet(
        &self,
        body: &'a [u8],
        block_offset: usize,
    ) -> Result<Packet<'a>, CaptureError> {
        if body.len() < 4 {
            return Err(self.malformed(
                PCAPNG_SIMPLE_PACKET,
                block_offset,
                format!("body of {} bytes is shorter than 4", body.len()),
            ));
        }
        let original_len = read_u32(body, 0, self.byte_order);
        let (interface_index, interface) =
            self.interface_for(0, PCAPNG_SIMPLE_PACKET, block_offset)?;
        let mut captured_length = original_len.min((body.len() - 4) as u32);
        if interface.snap_length != 0 {
            captured_length = captured_length.min(interface.snap_length);
        }
        let data = &body[4..4 + captured_length as usize];
        Ok(Packet {
            timestamp_ns: self.last_timestamp_ns,
            interface: interface_index,
            link_type: interface.link_type,
            data: Cow::Borrowed(data),
            original_len,
        })
    }

    fn next_packet(&mut self) -> Result<Option<Packet<'a>>, CaptureError> {
        match self.format {
            CaptureFormat::Pcap { .. } => self.read_pcap_record(),
            CaptureFormat::Pcapng => {
                while self.offset < self.bytes.len() {
                    if let Some(packet) = self.read_pcapng_block()? {
                        return Ok(Some(packet));
                    }
                }
                Ok(None)
            }
        }
    }
}

impl<'a> Iterator for CaptureReader<'a> {
    type Item = Result<Packet<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_packet() {
            Ok(Some(packet)) => {
                self.last_timestamp_ns = packet.timestamp_ns;
                Some(Ok(packet))
            }
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

impl std::iter::FusedIterator for CaptureReader<'_> {}

fn read_u16(bytes: &[u8], offset: usize, byte_order: ByteOrder) -> u16 {
    let raw: [u8; 2] = bytes[offset..offset + 2].try_into().expect("two bytes");
    match byte_order {
        ByteOrder::LittleEndian => u16::from_le_bytes(raw),
        ByteOrder::BigEndian => u16::from_be_bytes(raw),
    }
}

fn read_u32(bytes: &[u8], offset: usize, byte_order: ByteOrder) -> u32 {
    let raw: [u8; 4] = bytes[offset..offset + 4].try_into().expect("four bytes");
    match byte_order {
        ByteOrder::LittleEndian => u32::from_le_bytes(raw),
        ByteOrder::BigEndian => u32::from_be_bytes(raw),
    }
}

fn read_u64(bytes: &[u8], offset: usize, byte_order: ByteOrder) -> u64 {
    let raw: [u8; 8] = bytes[offset..offset + 8].try_into().expect("eight bytes");
    match byte_order {
        ByteOrder::LittleEndian => u64::from_le_bytes(raw),
        ByteOrder::BigEndian => u64::from_be_bytes(raw),
    }
}
