package opencollective

import (
	"net"
	"net/url"
	"strings"
	"unicode"
)

// webhookURLProblem says why Open Collective would refuse url as a webhook
// URL, or returns "" when it may accept it. It applies, on the URL's syntax
// alone, the rules of Open Collective's Notification model and
// lib/webhooks.ts:
//
//   - a valid http(s) URL whose host is a fully qualified domain name with a
//     top-level domain, as validator.js isURL checks it by default (at least
//     two labels; a top-level domain of two or more letters or an xn--
//     label; labels of letters, digits and hyphens, not starting or ending
//     with one; no underscores; no trailing dot);
//   - not an IP address;
//   - not localhost, nor *.localhost, *.local or *.internal;
//   - not on opencollective.com.
//
// Open Collective also resolves the name and refuses one that does not
// resolve or resolves to a private, loopback or otherwise reserved address.
// That check is left to Open Collective: the plugin does not resolve names
// (the gateway may see a different DNS than Open Collective does), and
// reads such a refusal from createWebhook's answer instead.
func webhookURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "it is not a valid URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "it must use http or https"
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return "IP addresses cannot be used as webhooks"
	}
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") || strings.HasSuffix(host, ".internal") {
		return "host " + host + " is not allowed (localhost, *.local and *.internal are private)"
	}
	if !isFQDN(host) {
		return "host " + host + " is not a public domain name with a top-level domain"
	}
	labels := strings.Split(host, ".")
	if strings.Join(labels[len(labels)-2:], ".") == "opencollective.com" {
		return "Open Collective URLs cannot be used as webhooks"
	}
	return ""
}

// isFQDN reports whether host is a domain name as validator.js isFQDN
// accepts it with its default options.
func isFQDN(host string) bool {
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	tld := labels[len(labels)-1]
	if !isLetterTLD(tld) && !(strings.HasPrefix(tld, "xn") && len(tld) >= 4 && isLDH(tld[2:])) {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
		for _, r := range l {
			switch {
			case r == '-', r >= '0' && r <= '9', r >= 'a' && r <= 'z':
			case r >= 0xff01 && r <= 0xff5e: // full-width forms
				return false
			case r >= 0xa1:
			default:
				return false
			}
		}
	}
	return true
}

// isLetterTLD: two or more letters (non-ASCII letters included).
func isLetterTLD(s string) bool {
	n := 0
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 0xa1 && unicode.IsLetter(r)) {
			return false
		}
		n++
	}
	return n >= 2
}

// isLDH: letters, digits and hyphens, at least two.
func isLDH(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}
