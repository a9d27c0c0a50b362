// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
//
// The drop watch of kubectl netdiff's prober: on every kfree_skb (a packet the kernel
// drops, with the reason since Linux 5.17), count the drop when it happened in a watched
// network namespace (the pod's, and the node's for the pod's own flows) on a watched flow
// (a packet from or to a watched address). Counting is done here, in a hash map the
// prober reads once when its probe window closes: nothing is streamed per packet.
//
// The kernel types are declared here, only the fields read, and relocated against the
// running kernel's BTF (CO-RE): no vmlinux.h, and one object for every kernel with BTF.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed long long __s64;
typedef signed int __s32;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

// The few UAPI constants used (linux/bpf.h, which needs the host's asm headers).
enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
};
#define BPF_NOEXIST 1

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct net_device {
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sock_common {
	possible_net_t skc_net;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct dst_entry {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned long _skb_refdst;
	__be16 protocol;
	__u16 network_header;
	unsigned char *head;
} __attribute__((preserve_access_index));

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_SCTP 132

// Roles of a watched namespace (the netns map's values).
#define ROLE_POD 1
#define ROLE_NODE 2

// Flags of a watched address (the addrs map's values): an address of the pod itself, or
// a probe target. In the node's namespace only the pod's own addresses select a drop.
#define ADDR_POD 1
#define ADDR_TARGET 2

#define STACK_DEPTH 16

struct addr_key {
	__u8 family; // 4 or 6
	__u8 pad[3];
	__u8 addr[16];
};

struct drop_key {
	__u32 netns;
	__u32 reason;
	__u64 location;
	__u8 family;
	__u8 proto;
	__u16 sport; // host order
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct drop_val {
	__u64 count;
	// The kernel stack of the first drop of this key: where in the path it happened
	// (which netfilter hook called nf_hook_slow, which function the route lookup failed in).
	__u64 stack[STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct addr_key);
	__type(value, __u32);
} addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drop_key);
	__type(value, struct drop_val);
} drops SEC(".maps");

// stats[0]: drops in a watched namespace on no watched flow; stats[1]: drops not
// counted because the drops map was full.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

// scratch holds the value being built: too large for the BPF stack beside the key.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_val);
} scratch SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &i);
	if (v)
		*v += 1;
}

// skb_netns is the namespace the drop happened in: the device's, else the socket's (a
// packet not yet routed), else the route's device's.
static __always_inline __u32 skb_netns(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	if (dev)
		return dev->nd_net.net->ns.inum;
	struct sock *sk = skb->sk;
	if (sk)
		return sk->__sk_common.skc_net.net->ns.inum;
	unsigned long refdst = skb->_skb_refdst & ~1UL;
	if (!refdst)
		return 0;
	struct dst_entry *dst = (struct dst_entry *)refdst;
	struct net_device *ddev = 0;
	bpf_probe_read_kernel(&ddev, sizeof(ddev), __builtin_preserve_access_index(&dst->dev));
	if (!ddev)
		return 0;
	struct net *net = 0;
	bpf_probe_read_kernel(&net, sizeof(net), __builtin_preserve_access_index(&ddev->nd_net.net));
	if (!net)
		return 0;
	__u32 inum = 0;
	bpf_probe_read_kernel(&inum, sizeof(inum), __builtin_preserve_access_index(&net->ns.inum));
	return inum;
}

static __always_inline __u32 addr_flags(__u8 family, const __u8 *addr)
{
	struct addr_key k = {.family = family};
	__builtin_memcpy(k.addr, addr, 16);
	__u32 *f = bpf_map_lookup_elem(&addrs, &k);
	return f ? *f : 0;
}

static __always_inline int record(void *ctx, struct sk_buff *skb, void *location, __u32 reason)
{
	__u32 inum = skb_netns(skb);
	__u32 *role = bpf_map_lookup_elem(&netns, &inum);
	if (!role)
		return 0;

	struct drop_key key = {.netns = inum, .reason = reason, .location = (__u64)location};
	__u16 proto = __builtin_bswap16(skb->protocol);
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header;
	if (!head || nh == (__u16)~0U)
		return 0;
	unsigned char *l3 = head + nh;
	unsigned char *l4;
	if (proto == ETH_P_IP) {
		__u8 vihl = 0;
		if (bpf_probe_read_kernel(&vihl, 1, l3))
			return 0;
		if ((vihl >> 4) != 4)
			return 0;
		key.family = 4;
		bpf_probe_read_kernel(&key.proto, 1, l3 + 9);
		bpf_probe_read_kernel(key.saddr, 4, l3 + 12);
		bpf_probe_read_kernel(key.daddr, 4, l3 + 16);
		l4 = l3 + (vihl & 0xf) * 4;
	} else if (proto == ETH_P_IPV6) {
		key.family = 6;
		bpf_probe_read_kernel(&key.proto, 1, l3 + 6);
		bpf_probe_read_kernel(key.saddr, 16, l3 + 8);
		bpf_probe_read_kernel(key.daddr, 16, l3 + 24);
		l4 = l3 + 40;
	} else {
		return 0;
	}

	__u32 fs = addr_flags(key.family, key.saddr) | addr_flags(key.family, key.daddr);
	if (*role == ROLE_NODE)
		fs &= ADDR_POD;
	if (!fs) {
		bump(0);
		return 0;
	}
	if (key.proto == IPPROTO_TCP || key.proto == IPPROTO_UDP || key.proto == IPPROTO_SCTP) {
		__u16 ports[2] = {};
		if (!bpf_probe_read_kernel(ports, sizeof(ports), l4)) {
			key.sport = __builtin_bswap16(ports[0]);
			key.dport = __builtin_bswap16(ports[1]);
		}
	}

	struct drop_val *v = bpf_map_lookup_elem(&drops, &key);
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		return 0;
	}
	__u32 zero = 0;
	struct drop_val *nv = bpf_map_lookup_elem(&scratch, &zero);
	if (!nv)
		return 0;
	__builtin_memset(nv, 0, sizeof(*nv));
	nv->count = 1;
	bpf_get_stack(ctx, nv->stack, sizeof(nv->stack), 0);
	if (bpf_map_update_elem(&drops, &key, nv, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&drops, &key);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
		else
			bump(1);
	}
	return 0;
}

// Linux 5.17 and later: kfree_skb(skb, location, reason[, rx_sk]).
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_reason, struct sk_buff *skb, void *location, int reason)
{
	return record(ctx, skb, location, (__u32)reason);
}

// Before 5.17 the tracepoint has no reason: kfree_skb(skb, location).
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_noreason, struct sk_buff *skb, void *location)
{
	return record(ctx, skb, location, 0);
}

char __license[] SEC("license") = "Dual BSD/GPL";
