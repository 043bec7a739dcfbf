package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// scaleFixture is a registry on file storage with n published records
// shaped as scaleRecords, created through the registry's own API.
func scaleFixture(b *testing.B, n int) *Registry {
	b.Helper()
	ctx := context.Background()
	r, err := New(ctx, testOptions(b.TempDir(), new(fakeMode)))
	if err != nil {
		b.Fatal(err)
	}
	for _, rec := range scaleRecords(n) {
		body, _ := json.Marshal(map[string]any{"name": rec.Name, "routes": rec.Routes, "code_snippet": "code of " + rec.Name})
		if _, err := r.Create(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.Sync(ctx, SyncOptions{}); err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkSync: a sync with nothing pending, and a sync after one record
// changed, at 1,000 and 10,000 published records; and the write of one
// draft among them.
func BenchmarkSync(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1_000, 10_000} {
		r := scaleFixture(b, n)
		b.Run(fmt.Sprintf("noop/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Sync(ctx, SyncOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		i := 0
		b.Run(fmt.Sprintf("write/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				i++
				patch := fmt.Sprintf(`{"code_snippet": "code %d"}`, i)
				if _, err := r.Patch(ctx, "e000001", []byte(patch), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("one/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				i++
				patch := fmt.Sprintf(`{"code_snippet": "code %d"}`, i)
				b.StopTimer()
				if _, err := r.Patch(ctx, "e000002", []byte(patch), nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := r.Sync(ctx, SyncOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStart: a registry loading n published records and their drafts
// from storage (read, compile, route, build the table).
func BenchmarkStart(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		r := scaleFixture(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(context.Background(), Options{
					Storage: r.storage, Prefix: r.prefix,
					ExecModes: r.cfg.execModes, CompileSchema: fakeSchema, UserExists: r.cfg.userExists,
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
