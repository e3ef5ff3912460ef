package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/marquee-proxy/marquee/cache"
)

// serveRewrite reads an eligible page, runs the rewrite stage and answers
// with its result, or with the origin's bytes when the stage fails.
func (s *Server) serveRewrite(ctx *fasthttp.RequestCtx, x *exchange, peer netip.Addr) {
	x.raw = acquireBuffer()
	var (
		complete bool
		err      error
	)
	x.raw.b, complete, err = readPrefix(x.raw.b[:0], x.resp.BodyStream(), s.opts.MaxRewriteBody)
	if err != nil {
		s.originError(ctx, classifyOrigin(err))
		return
	}
	if !complete {
		// Larger than declared, or not declared: the rest passes untouched.
		s.streamRest(ctx, x)
		return
	}
	// The whole body is in hand: give the origin connection back now.
	_ = x.resp.CloseBodyStream()

	body := x.raw.b
	if enc := parseContentEncoding(x.resp.Header.ContentEncoding()); enc != codingIdentity {
		cached, k, hit := s.decoded.get(enc, x.raw.b)
		if hit {
			body = cached
		} else if body, err = s.decode(x, enc, k); err != nil {
			if errors.Is(err, errDecodedTooLarge) {
				s.copyHeader(ctx, x, modeExact)
				sendRaw(ctx, x)
				s.metrics.outcome(outcomePassthrough)
				return
			}
			s.failOpen(ctx, x, fmt.Errorf("%w: decode %s body: %w", ErrRewrite, enc, err))
			return
		}
	}

	if x.c.admit {
		if e := s.admit(ctx, x, x.raw.b, body); e != nil {
			s.serveEntry(ctx, x, e, cache.Miss, peer)
			s.cache.Put(e) // with what the stage kept with it
			return
		}
	}
	s.answerPage(ctx, x, body, peer)
}

// answerPage runs the rewrite stage on the decoded page body, whose head is
// x.resp's, and answers with its result, or with the origin's bytes when
// the stage fails. The page comes from the origin or from a cache entry
// (x.c.entry); both answer alike.
func (s *Server) answerPage(ctx *fasthttp.RequestCtx, x *exchange, body []byte, peer netip.Addr) {
	rc := acquireRewriteContext(s, ctx, peer, body, x.resp.Header.ContentType())
	rc.origin = &x.resp.Header
	rc.entry = x.c.entry
	defer releaseRewriteContext(rc)
	if err := s.runRewriter(rc); err != nil {
		s.failOpen(ctx, x, err)
		return
	}
	if rc.keepBody != nil && rc.entry != nil {
		rc.entry.ShareDecoded(rc.keepBody)
	}
	h := &ctx.Response.Header
	switch {
	case !rc.Slotted && !rc.Changed && x.notModified != nil:
		// No slots, and the visitor's validators matched (see
		// refetchNotModified): the origin's 304 exactly.
		x.resp, x.notModified = x.notModified, x.resp
		s.copyHeader(ctx, x, modeExact)
		ctx.Response.SkipBody = true
		rc.applyHeaders(h)
		s.metrics.outcome(outcomeUnslotted)
	case !rc.Slotted && !rc.Changed && x.c.entry != nil && s.clientNotModified(ctx, x.c.entry):
		// No slots, and the visitor's validators match the stored page.
		s.copyHeader(ctx, x, modeExact)
		s.answerNotModified(ctx)
		rc.applyHeaders(h)
		s.metrics.outcome(outcomeUnslotted)
	case !rc.Slotted && !rc.Changed:
		// No slots: the origin's response exactly, body and caching headers.
		s.copyHeader(ctx, x, modeExact)
		sendOrigin(ctx, x)
		rc.applyHeaders(h)
		s.metrics.outcome(outcomeUnslotted)
	case !rc.Changed:
		// Slots, none filled: the origin's bytes, but the answer still
		// depends on who asks.
		s.copyHeader(ctx, x, modePrivate)
		sendOrigin(ctx, x)
		rc.applyHeaders(h)
		s.metrics.outcome(outcomeUnchanged)
	default:
		s.writeRewritten(ctx, x, rc)
		s.metrics.outcome(outcomeRewritten)
	}
}

// streamRest answers with the origin's headers exactly, the body read so
// far (x.raw) and the rest of it as it arrives.
func (s *Server) streamRest(ctx *fasthttp.RequestCtx, x *exchange) {
	s.copyHeader(ctx, x, modeExact)
	prefix := x.raw
	x.raw = nil
	s.streamBody(ctx, x, prefix, x.resp.Header.ContentLength())
	s.metrics.outcome(outcomePassthrough)
}

// runRewriter calls the rewrite stage, turning a panic into an error.
func (s *Server) runRewriter(rc *RewriteContext) (err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic: %v", ErrRewrite, r)
		}
		s.metrics.observeRewrite(time.Since(start))
	}()
	if err := s.opts.Rewriter.Rewrite(rc); err != nil {
		return fmt.Errorf("%w: %w", ErrRewrite, err)
	}
	return nil
}

// sendDst sends the rewrite stage's output with sendBuffer; rc keeps a
// fresh buffer from the pool in its place.
func sendDst(ctx *fasthttp.RequestCtx, rc *RewriteContext) {
	b := acquireBuffer()
	b.b, rc.Dst = rc.Dst, b.b[:0]
	sendBuffer(ctx, b)
}

// decode decodes the origin's body into the exchange's buffer and keeps
// it in the decoded-page cache under k.
func (s *Server) decode(x *exchange, enc coding, k decodeKey) ([]byte, error) {
	x.dec = acquireBuffer()
	var err error
	x.dec.b, err = appendDecoded(x.dec.b[:0], enc, x.raw.b, s.opts.MaxRewriteBody)
	if err != nil {
		return nil, err
	}
	s.decoded.put(k, x.raw.b, x.dec.b)
	return x.dec.b, nil
}

// writeRewritten answers with the stage's body, compressed as the client
// accepts (or as RewriteContext.Splice already encoded it), with private
// caching headers.
func (s *Server) writeRewritten(ctx *fasthttp.RequestCtx, x *exchange, rc *RewriteContext) {
	s.copyHeader(ctx, x, modeRewritten)
	h := &ctx.Response.Header
	rc.applyHeaders(h)

	if rc.encoded != codingIdentity {
		// Encoded by RewriteContext.Splice for this client's Accept-Encoding.
		s.metrics.stitched.Inc()
		sendDst(ctx, rc)
		h.SetContentEncoding(rc.encoded.String())
		return
	}
	if enc := negotiate(ctx.Request.Header.PeekBytes(strAcceptEncoding)); enc != codingIdentity {
		out := acquireBuffer()
		err := s.enc.encode(out, enc, rc.Dst)
		if err == nil {
			sendBuffer(ctx, out)
			h.SetContentEncoding(enc.String())
			return
		}
		releaseBuffer(out)
		s.log.Warn("proxy: compress failed, sending identity", "coding", enc.String(), "err", err)
	}
	sendDst(ctx, rc)
}

// failOpen serves the origin's bytes and headers exactly as received after
// the rewrite stage failed, and counts and logs the failure.
func (s *Server) failOpen(ctx *fasthttp.RequestCtx, x *exchange, err error) {
	s.copyHeader(ctx, x, modeExact)
	sendOrigin(ctx, x)
	s.metrics.rewriteFailures.Inc()
	s.metrics.outcome(outcomeFailOpen)
	s.log.Warn("proxy: rewrite failed, serving origin page", "path", string(ctx.Path()), "err", err)
}

// originError answers 502 or 504 and logs why.
func (s *Server) originError(ctx *fasthttp.RequestCtx, err error) {
	code := writeError(ctx, err)
	if code == fasthttp.StatusGatewayTimeout {
		s.metrics.originTimeouts.Inc()
	} else {
		s.metrics.originFailures.Inc()
	}
	s.metrics.outcome(outcomeOriginError)
	s.log.Warn("proxy: origin request failed", "status", code, "path", string(ctx.Path()), "err", err)
}
