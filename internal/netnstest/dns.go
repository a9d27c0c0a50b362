package netnstest

import (
	"encoding/binary"
	"io"
	"net"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// ServeDNS answers DNS queries in ns over UDP on udpAddr ("10.10.2.2:53": bound to the
// address the clients ask, so replies come from it) and over TCP on port 53 of every
// address, with answer's reply to each query from client (tcp: whether it came over TCP). A nil
// reply over UDP is no reply (a planted timeout); over TCP it closes the connection.
func ServeDNS(t *testing.T, ns *NS, udpAddr string, answer func(q []byte, client net.IP, tcp bool) []byte) {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		if pc, err = net.ListenPacket("udp", udpAddr); err != nil {
			return err
		}
		ln, err = net.Listen("tcp", ":53")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := answer(buf[:n], from.(*net.UDPAddr).IP, false); r != nil {
				_, _ = pc.WriteTo(r, from)
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				if r := answer(q, c.RemoteAddr().(*net.TCPAddr).IP, true); r != nil {
					_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(r))), r...))
				}
			}(c)
		}
	}()
}

// Question is a query's header and its one question; ok is false for anything else.
func Question(q []byte) (h dnsmessage.Header, question dnsmessage.Question, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return h, question, false
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return h, question, false
	}
	return h, qs[0], true
}
