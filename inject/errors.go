package inject

import "errors"

// Errors returned by Compiler.Plan. Every one of them means the same thing to
// the caller: serve the page unchanged. They differ only so that metrics and
// logs can say why.
var (
	// ErrUnclosedSlot reports a slot element whose end tag never comes.
	ErrUnclosedSlot = errors.New("inject: slot element is not closed")
	// ErrMisnested reports markup inside or around a slot that the HTML tree
	// builder would repair (implied end tags, adoption agency, foster
	// parenting), so the slot's bytes might not be the element's content.
	ErrMisnested = errors.New("inject: misnested markup around a slot")
	// ErrAmbiguous reports markup whose tokenization depends on tree-builder
	// state that the scanner does not model (for example a <style> inside a
	// <select>); guessing could turn script text into a slot.
	ErrAmbiguous = errors.New("inject: markup too ambiguous to scan safely")
	// ErrRawTextSlot reports a slot, marked or selected, on an element
	// whose content is raw text (script, style, textarea, title, xmp,
	// iframe, noscript, noembed, noframes, plaintext): an offer escaped as
	// HTML would run as script or style there, so the page passes through.
	// A selector that names such an element is refused by NewCompiler with
	// this error too.
	ErrRawTextSlot = errors.New("inject: slot on a raw text element")
	// ErrBudget reports a page whose compilation exceeded Options.CompileBudget.
	ErrBudget = errors.New("inject: compile time budget exceeded")
	// ErrTooLarge reports a body larger than Options.MaxBodySize.
	ErrTooLarge = errors.New("inject: body too large")
	// ErrCharset reports a page in an encoding where ASCII bytes cannot be
	// spliced safely (UTF-16, ISO-2022-JP).
	ErrCharset = errors.New("inject: unsupported page encoding")
	// ErrSelector reports a SlotRule whose selector does not parse; it is
	// returned by NewCompiler, wrapped with the rule index.
	ErrSelector = errors.New("inject: invalid slot selector")
	// ErrRule reports a SlotRule without a name.
	ErrRule = errors.New("inject: invalid slot rule")
	// ErrMode reports an unknown mode name given to ParseMode.
	ErrMode = errors.New("inject: unknown slot mode")
)
