//! Hand-built captures covering what the fixtures do not: big-endian and
//! nanosecond pcap, raw IPv4 link types, and pcapng with several sections,
//! interfaces, timestamp resolutions and every packet block kind.

use enshu_pcap::{CaptureError, CaptureReader, LinkType, TimestampResolution, read_all_packets};

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

fn u16_bytes(value: u16, order: Order) -> [u8; 2] {
    match order {
        Order::Little => value.to_le_bytes(),
        Order::Big => value.to_be_bytes(),
    }
}

fn u32_bytes(value: u32, order: Order) -> [u8; 4] {
    match order {
        Order::Little => value.to_le_bytes(),
        Order::Big => value.to_be_bytes(),
    }
}

fn pcap_file(magic: u32, order: Order, link_type: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend(u32_bytes(magic, order));
    bytes.extend(u16_bytes(2, order));
    bytes.extend(u16_bytes(4, order));
    bytes.extend([0; 8]);
    bytes.extend(u32_bytes(65535, order));
    bytes.extend(u32_bytes(link_type, order));
    for (seconds, fraction, data) in records {
        bytes.extend(u32_bytes(*seconds, order));
        bytes.extend(u32_bytes(*fraction, order));
        bytes.extend(u32_bytes(data.len() as u32, order));
        bytes.extend(u32_bytes(data.len() as u32 + 10, order));
        bytes.extend(*data);
    }
    bytes
}

#[test]
fn reads_pcap_in_both_byte_orders_and_precisions() {
    let raw_ipv4 = [0x45u8, 0, 0, 20];
    for order in [Order::Little, Order::Big] {
        let micro = pcap_file(0xa1b2_c3d4, order, 101, &[(10, 250_000, &raw_ipv4)]);
        let packets = read_all_packets(&micro).unwrap();
        assert_eq!(packets[0].timestamp_ns, 10_250_000_000);
        assert_eq!(packets[0].link_type, LinkType::RAW);
        assert_eq!(packets[0].original_len, 14);

        let nano = pcap_file(
            0xa1b2_3c4d,
            order,
            228,
            &[(10, 250_000_001, &raw_ipv4), (11, 0, &[])],
        );
        let packets = read_all_packets(&nano).unwrap();
        assert_eq!(packets[0].timestamp_ns, 10_250_000_001);
        assert_eq!(packets[0].link_type, LinkType::IPV4);
        assert_eq!(packets[1].timestamp_ns, 11_000_000_000);
        assert!(packets[1].data.is_empty());
    }
}

#[test]
fn refuses_unknown_magic_and_tiny_files() {
    let error = CaptureReader::new(b"GIF89a").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown magic number 0x47494638 at byte offset 0: neither pcap nor pcapng"
    );
    assert!(matches!(
        CaptureReader::new(&[0xd4, 0xc3]),
        Err(CaptureError::TooShortForMagic { length: 2 })
    ));
    let header_only = &pcap_file(0xa1b2_c3d4, Order::Little, 1, &[])[..20];
    assert_eq!(
        CaptureReader::new(header_only).unwrap_err().to_string(),
        "truncated pcap global header at byte offset 0: needs 24 bytes, only 20 remain"
    );
}

fn block(block_type: u32, body: &[u8], order: Order) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut bytes = Vec::new();
    bytes.extend(u32_bytes(block_type, order));
    bytes.extend(u32_bytes(total, order));
    bytes.extend(body);
    bytes.resize(8 + padded, 0);
    bytes.extend(u32_bytes(total, order));
    bytes
}

fn section_header(order: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32_bytes(0x1a2b_3c4d, order));
    body.extend(u16_bytes(1, order));
    body.extend(u16_bytes(0, order));
    body.extend([0xff; 8]); // section length unknown
    block(0x0a0d_0d0a, &body, order)
}

fn interface_description(
    link_type: u16,
    resolution: Option<u8>,
    name: Option<&str>,
    order: Order,
) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16_bytes(link_type, order));
    body.extend([0, 0]);
    body.extend(u32_bytes(0, order));
    if let Some(resolution) = resolution {
        body.extend(u16_bytes(9, order));
        body.extend(u16_bytes(1, order));
        body.extend([resolution, 0, 0, 0]);
    }
    if let Some(name) = name {
        body.extend(u16_bytes(2, order));
        body.extend(u16_bytes(name.len() as u16, order));
        body.extend(name.as_bytes());
        body.resize(body.len().div_ceil(4) * 4, 0);
    }
    body.extend([0, 0, 0, 0]); // opt_endofopt
    block(1, &body, order)
}

fn enhanced_packet(interface: u32, ticks: u64, data: &[u8], order: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32_bytes(interface, order));
    body.extend(u32_bytes((ticks >> 32) as u32, order));
    body.extend(u32_bytes(ticks as u32, order));
    body.extend(u32_bytes(data.len() as u32, order));
    body.extend(u32_bytes(data.len() as u32 + 100, order));
    body.extend(data);
    block(6, &body, order)
}

fn obsolete_packet(interface: u16, ticks: u64, data: &[u8], order: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u16_bytes(interface, order));
    body.extend(u16_bytes(0, order));
    body.extend(u32_bytes((ticks >> 32) as u32, order));
    body.extend(u32_bytes(ticks as u32, order));
    body.extend(u32_bytes(data.len() as u32, order));
    body.extend(u32_bytes(data.len() as u32, order));
    body.extend(data);
    block(2, &body, order)
}

fn simple_packet(data: &[u8], order: Order) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(u32_bytes(data.len() as u32, order));
    body.extend(data);
    block(3, &body, order)
}

#[test]
fn reads_pcapng_sections_interfaces_and_every_packet_block() {
    let mut bytes = Vec::new();
    // Section 1, little-endian: an Ethernet interface in microseconds
    // (the default) and a raw IPv4 interface in nanoseconds.
    bytes.extend(section_header(Order::Little));
    bytes.extend(interface_description(1, None, Some("eth0"), Order::Little));
    bytes.extend(block(0x0000_0bad, &[1, 2, 3, 4, 5], Order::Little)); // custom block: skipped
    bytes.extend(interface_description(228, Some(9), None, Order::Little));
    bytes.extend(enhanced_packet(0, 1_500_000, &[0xaa; 7], Order::Little));
    bytes.extend(enhanced_packet(
        1,
        2_000_000_123,
        &[0x45; 20],
        Order::Little,
    ));
    bytes.extend(simple_packet(&[0xbb; 5], Order::Little));
    bytes.extend(block(5, &[0; 12], Order::Little)); // interface statistics: skipped
    // Section 2, big-endian: one interface with 2^-10 second ticks.
    bytes.extend(section_header(Order::Big));
    bytes.extend(interface_description(1, Some(0x80 | 10), None, Order::Big));
    bytes.extend(obsolete_packet(0, 3 * 1024 + 512, &[0xcc; 3], Order::Big));
    bytes.extend(enhanced_packet(0, 1024, &[0xdd; 64], Order::Big));

    let mut reader = CaptureReader::new(&bytes).unwrap();
    let packets: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(packets.len(), 5);

    assert_eq!(
        (
            packets[0].interface,
            packets[0].link_type,
            packets[0].timestamp_ns
        ),
        (0, LinkType::ETHERNET, 1_500_000_000)
    );
    assert_eq!(packets[0].original_len, 107);
    assert_eq!(
        (
            packets[1].interface,
            packets[1].link_type,
            packets[1].timestamp_ns
        ),
        (1, LinkType::IPV4, 2_000_000_123)
    );
    // A simple packet has no timestamp of its own: it takes the previous one.
    assert_eq!(
        (
            packets[2].interface,
            packets[2].timestamp_ns,
            &*packets[2].data
        ),
        (0, 2_000_000_123, &[0xbb; 5][..])
    );
    assert_eq!(
        (
            packets[3].interface,
            packets[3].timestamp_ns,
            &*packets[3].data
        ),
        (2, 3_500_000_000, &[0xcc; 3][..])
    );
    assert_eq!(
        (
            packets[4].interface,
            packets[4].timestamp_ns,
            packets[4].data.len()
        ),
        (2, 1_000_000_000, 64)
    );

    let interfaces = reader.interfaces();
    assert_eq!(interfaces.len(), 3);
    assert_eq!(interfaces[0].name.as_deref(), Some("eth0"));
    assert_eq!(
        interfaces[1].timestamp_resolution,
        TimestampResolution::NANOSECONDS
    );
    assert_eq!(
        (
            interfaces[2].section_index,
            interfaces[2].timestamp_resolution
        ),
        (1, TimestampResolution::PowerOfTwo(10))
    );
}

#[test]
fn malformed_pcapng_blocks_name_their_type_and_offset() {
    let header = section_header(Order::Little);
    let offset = header.len();

    let mut unknown_interface = header.clone();
    unknown_interface.extend(enhanced_packet(0, 0, &[1], Order::Little));
    let error = read_all_packets(&unknown_interface).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "malformed pcapng enhanced packet block (type 0x00000006) at byte offset {offset}: refers to interface 0 but the section declares 0 interface(s)"
        )
    );

    let mut bad_trailer = header.clone();
    let mut interface = interface_description(1, None, None, Order::Little);
    let last = interface.len() - 4;
    interface[last] ^= 0x04;
    bad_trailer.extend(interface);
    let error = read_all_packets(&bad_trailer).unwrap_err();
    assert!(error.to_string().contains(&format!("interface description block (type 0x00000001) at byte offset {offset}: trailing block length")), "{error}");

    let mut odd_length = header.clone();
    odd_length.extend(u32_bytes(6, Order::Little));
    odd_length.extend(u32_bytes(13, Order::Little));
    odd_length.extend([0; 8]);
    let error = read_all_packets(&odd_length).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("block length 13 is below 12 or not a multiple of 4"),
        "{error}"
    );

    let mut oversized_capture = header.clone();
    oversized_capture.extend(interface_description(1, None, None, Order::Little));
    let mut packet = enhanced_packet(0, 0, &[1, 2, 3, 4], Order::Little);
    packet[20..24].copy_from_slice(&1000u32.to_le_bytes());
    oversized_capture.extend(packet);
    let error = read_all_packets(&oversized_capture).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("captured length 1000 exceeds the 4 bytes left in the block"),
        "{error}"
    );

    let mut bad_magic = header.clone();
    bad_magic[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let error = CaptureReader::new(&bad_magic).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("section header block (type 0x0a0d0d0a) at byte offset 0: byte-order magic"),
        "{error}"
    );

    let mut bad_option = header;
    let mut interface = interface_description(1, Some(6), None, Order::Little);
    interface[18..20].copy_from_slice(&200u16.to_le_bytes()); // if_tsresol claims 200 bytes
    bad_option.extend(interface);
    let error = read_all_packets(&bad_option).unwrap_err();
    assert!(
        error.to_string().contains("option 9 claims 200 bytes"),
        "{error}"
    );
}
