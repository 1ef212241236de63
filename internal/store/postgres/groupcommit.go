package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqldb"
)

// Group commit. A check-in on its own costs PostgreSQL a transaction of
// some ten statements and a commit, and herd two round trips; on a busy
// authority that per-check-in overhead, on both sides, is what limits
// check-ins per second. So check-ins that arrive together are written
// together: a few committers each take what has queued (at most one
// check-in per device, at most checkinBatchMax) and run it as one
// transaction in two round trips whatever its size:
//
//  1. BEGIN, and lock and read the batch's device rows (in id order, so
//     that two batches never wait on each other in a cycle);
//  2. every write of every check-in, as one statement per table over
//     arrays (the aggregates summed over the batch first), and COMMIT.
//
// A check-in that the rows refuse (its device is gone, its nonce is not
// later than the device's latest) is answered before the writes and
// takes no part in them, so nothing needs undoing. Should a write fail
// all the same, the transaction rolls back and each check-in of the
// batch is written again on its own. Every caller is answered only after
// the commit that holds its check-in: an acknowledged check-in is
// durable, exactly as with a transaction of its own.
//
// A check-in whose nonce is recorded in the used nonces (a nonce not
// issued to its device) goes on its own: its nonce must stay unused when
// it is refused for another reason.

const (
	// checkinBatchMax bounds the check-ins of one transaction.
	checkinBatchMax = 64
	// checkinCommitters is how many batches can be in flight at once:
	// one waits on its commit's WAL flush while another fills.
	checkinCommitters = 4
)

var errStoreClosed = errors.New("postgres: store closed")

type checkinJob struct {
	ctx      context.Context
	c        store.Checkin
	findings string
	id       int64
	err      error
	answered bool
	done     chan struct{}
}

type batcher struct {
	// shared counts the transactions that held more than one check-in.
	shared atomic.Int64
	s      *Store
	jobs   chan *checkinJob
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func newBatcher(s *Store) *batcher {
	b := &batcher{s: s, jobs: make(chan *checkinJob, checkinBatchMax*checkinCommitters), quit: make(chan struct{})}
	for range checkinCommitters {
		b.wg.Go(b.loop)
	}
	return b
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
	for {
		select {
		case j := <-b.jobs:
			j.finish(0, errStoreClosed)
		default:
			return
		}
	}
}

func (j *checkinJob) finish(id int64, err error) {
	j.id, j.err, j.answered = id, err, true
	close(j.done)
}

// record queues c and waits for the commit that holds it (or for its
// refusal). A caller that gives up is answered all the same, after the
// commit: its check-in may be durable.
func (b *batcher) record(ctx context.Context, c store.Checkin, findings string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	j := &checkinJob{ctx: ctx, c: c, findings: findings, done: make(chan struct{})}
	select {
	case b.jobs <- j:
	case <-b.quit:
		return 0, errStoreClosed
	}
	<-j.done
	return j.id, j.err
}

func (b *batcher) loop() {
	var carry []*checkinJob
	for {
		batch := carry
		carry = nil
		if len(batch) == 0 {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			case <-b.quit:
				return
			}
		}
	fill:
		for len(batch) < checkinBatchMax {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		// One check-in per device and batch: a device's next check-in
		// steps from the state its previous one leaves.
		seen := make(map[string]bool, len(batch))
		run := batch[:0:0]
		for _, j := range batch {
			if seen[j.c.DeviceID] {
				carry = append(carry, j)
				continue
			}
			seen[j.c.DeviceID] = true
			run = append(run, j)
		}
		b.run(run)
	}
}

func (b *batcher) run(batch []*checkinJob) {
	live := batch[:0:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.finish(0, err)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 1 {
		j := live[0]
		j.finish(b.s.recordCheckin(context.WithoutCancel(j.ctx), j.c, j.findings))
		return
	}
	if len(live) == 0 {
		return
	}
	b.shared.Add(1)
	if err := b.runBatch(live); err != nil {
		// Rolled back: each check-in not yet answered on its own, so
		// that one write that fails fails its check-in alone.
		for _, j := range live {
			if !j.answered {
				j.finish(b.s.recordCheckin(context.WithoutCancel(j.ctx), j.c, j.findings))
			}
		}
	}
}

// batchSelect locks and reads the batch's device rows, as popSelect does
// for one.
const batchSelect = `SELECT id, pop_at, pop_verdict, pop_os, pop_os_version, pop_agent, pop_country, fail_mask, os, pop_infected_day,
	nonce_at, nonce_random, last_verdict
	FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`

// The batch's writes, one statement per table over arrays.
const (
	batchUpdateDevices = `UPDATE devices AS d SET last_seen = u.last_seen, last_verdict = u.last_verdict, last_policy = u.last_policy,
		nonce_at = u.nonce_at, nonce_random = u.nonce_random,
		pop_at = u.pop_at, pop_verdict = u.pop_verdict, pop_os = u.pop_os, pop_os_version = u.pop_os_version, pop_agent = u.pop_agent,
		pop_country = u.pop_country, fail_mask = u.fail_mask, pop_infected_day = u.pop_infected_day
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::bytea[],
			$7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[])
		AS u (id, last_seen, last_verdict, last_policy, nonce_at, nonce_random,
			pop_at, pop_verdict, pop_os, pop_os_version, pop_agent, pop_country, fail_mask, pop_infected_day)
		WHERE d.id = u.id`
	batchInsertCheckins = `INSERT INTO checkins (device_id, received_at, verdict, policy_id, findings, os, os_version, agent, statement, source_ip)
		SELECT u.device_id, u.received_at, u.verdict, u.policy_id, u.findings::jsonb, u.os, u.os_version, u.agent, u.statement, u.source_ip
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::text[])
		AS u (device_id, received_at, verdict, policy_id, findings, os, os_version, agent, statement, source_ip)
		RETURNING id, device_id`
	batchDaily = `INSERT INTO checkin_daily (day, verdict, os, shard, n)
		SELECT u.day::date, u.verdict, u.os, ` + shardExpr + `, u.n FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u (day, verdict, os, n)
		ON CONFLICT (day, verdict, os, shard) DO UPDATE SET n = checkin_daily.n + excluded.n`
	batchCounters = `INSERT INTO counters (name, shard, n)
		SELECT u.name, ` + shardExpr + `, u.n FROM unnest($1::text[], $2::bigint[]) AS u (name, n)
		ON CONFLICT (name, shard) DO UPDATE SET n = counters.n + excluded.n`
	batchPopDaily = `INSERT INTO pop_daily (kind, day, os, os_version, agent, country, key, shard, n)
		SELECT u.kind, u.day::date, u.os, u.os_version, u.agent, u.country, u.key, ` + shardExpr + `, u.n
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[])
		AS u (kind, day, os, os_version, agent, country, key, n)
		ON CONFLICT (kind, day, os, os_version, agent, country, key, shard) DO UPDATE SET n = pop_daily.n + excluded.n`
	batchPopTotal = `INSERT INTO pop_daily_total (kind, day, key, shard, n)
		SELECT u.kind, u.day::date, u.key, ` + shardExpr + `, u.n FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u (kind, day, key, n)
		ON CONFLICT (kind, day, key, shard) DO UPDATE SET n = pop_daily_total.n + excluded.n`
	batchMasks = `INSERT INTO pop_masks (mask, shard, n)
		SELECT u.mask, ` + shardExpr + `, u.n FROM unnest($1::int[], $2::bigint[]) AS u (mask, n)
		ON CONFLICT (mask, shard) DO UPDATE SET n = pop_masks.n + excluded.n`
)

// batchRows are the columns of batchUpdateDevices and batchInsertCheckins.
type batchRows struct {
	id, policy, verdict, findings, os, osVersion, agent, sourceIP []string
	at                                                            []time.Time
	statement, nonceRandom                                        [][]byte
	nonceAt                                                       []int64
	popAt                                                         []pgtype.Timestamptz
	popVerdict, popOS, popOSVersion, popAgent, popCountry, popDay []string
	mask                                                          []int32
}

// runBatch writes the batch in one transaction and answers every check-in
// of it; an error means the transaction rolled back and none was answered
// but those its device rows refused.
func (b *batcher) runBatch(batch []*checkinJob) (err error) {
	ctx := context.Background()
	conn, err := b.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	open := false
	defer func() {
		if open && err != nil {
			if _, rerr := conn.Exec(ctx, "ROLLBACK"); rerr != nil {
				conn.Conn().Close(ctx) // the pool drops it
			}
		}
		conn.Release()
	}()

	ids := make([]string, len(batch))
	for i, j := range batch {
		ids[i] = j.c.DeviceID
	}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	open = true
	rows, err := conn.Query(ctx, batchSelect, ids)
	if err != nil {
		return err
	}
	devs := make(map[string]devRow, len(batch))
	for rows.Next() {
		var (
			id      string
			d       devRow
			at      pgtype.Timestamptz
			verdict string
			mask    int32
		)
		if err := rows.Scan(&id, &at, &verdict, &d.pop.Segment.OS, &d.pop.Segment.OSVersion, &d.pop.Segment.Agent, &d.pop.Segment.Country,
			&mask, &d.os, &d.pop.InfectedDay, &d.nonceAt, &d.nonceRandom, (*string)(&d.lastVerdict)); err != nil {
			rows.Close()
			return err
		}
		if at.Valid {
			d.pop.At = at.Time.UnixMicro()
		}
		d.pop.Verdict, d.pop.Mask = health.Tier(verdict), store.FailMask(mask)
		devs[id] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// Refusals first: they take no part in the writes.
	var (
		r        batchRows
		kept     []*checkinJob
		daily    = map[[3]string]int64{}
		dayOrder [][3]string
		counters = map[string]int64{}
		cntOrder []string
		pop      []sqldb.PopDelta
		masks    = map[int32]int64{}
		certs    []store.IssuedCertificate
		events   []store.OutboxEvent
	)
	addCounter := func(name string, n int64) {
		if _, ok := counters[name]; !ok {
			cntOrder = append(cntOrder, name)
		}
		counters[name] += n
	}
	for _, j := range batch {
		c := j.c
		dev, ok := devs[c.DeviceID]
		if !ok {
			j.finish(0, fmt.Errorf("device %s: %w", c.DeviceID, store.ErrNotFound))
			continue
		}
		nonceAt, nonceRandom := dev.nonceAt, dev.nonceRandom
		if n := c.DeviceNonce; n != nil {
			if !n.After(nonceAt, nonceRandom) {
				j.finish(0, fmt.Errorf("nonce: %w", store.ErrNonceUnknown))
				continue
			}
			nonceAt, nonceRandom = n.IssuedAt, n.Random
		}
		kept = append(kept, j)
		next, deltas, popOK := sqldb.PopStep(dev.pop, c, dev.os)
		if !popOK {
			next, deltas = dev.pop, nil
		}
		popAt := pgtype.Timestamptz{}
		if next.At != 0 {
			popAt = pgtype.Timestamptz{Time: time.UnixMicro(next.At).UTC(), Valid: true}
		}
		r.id = append(r.id, c.DeviceID)
		r.at = append(r.at, c.ReceivedAt)
		r.verdict = append(r.verdict, string(c.Verdict))
		r.policy = append(r.policy, c.PolicyID)
		r.nonceAt = append(r.nonceAt, nonceAt)
		r.nonceRandom = append(r.nonceRandom, nonNil(nonceRandom))
		r.popAt = append(r.popAt, popAt)
		r.popVerdict = append(r.popVerdict, string(next.Verdict))
		r.popOS = append(r.popOS, next.Segment.OS)
		r.popOSVersion = append(r.popOSVersion, next.Segment.OSVersion)
		r.popAgent = append(r.popAgent, next.Segment.Agent)
		r.popCountry = append(r.popCountry, next.Segment.Country)
		r.mask = append(r.mask, int32(next.Mask))
		r.popDay = append(r.popDay, next.InfectedDay)
		r.findings = append(r.findings, j.findings)
		r.os = append(r.os, c.OS)
		r.osVersion = append(r.osVersion, c.OSVersion)
		r.agent = append(r.agent, c.Agent)
		r.statement = append(r.statement, nonNil(c.Statement))
		r.sourceIP = append(r.sourceIP, c.SourceIP)

		segOS := c.OS
		if segOS == "" {
			segOS = dev.os
		}
		k := [3]string{c.ReceivedAt.UTC().Format(time.DateOnly), string(c.Verdict), segOS}
		if _, ok := daily[k]; !ok {
			dayOrder = append(dayOrder, k)
		}
		daily[k]++
		addCounter(sqldb.CheckinsCounter, 1)
		if dev.lastVerdict != c.Verdict {
			addCounter(sqldb.VerdictCounter(c.Verdict), 1)
			if dev.lastVerdict != "" {
				addCounter(sqldb.VerdictCounter(dev.lastVerdict), -1)
			}
		}
		if popOK {
			pop = append(pop, sqldb.NetDeltas(deltas)...)
			if dev.pop.At == 0 || dev.pop.Mask != next.Mask {
				if dev.pop.At != 0 {
					masks[int32(dev.pop.Mask)]--
				}
				masks[int32(next.Mask)]++
			}
		}
		certs = append(certs, c.Certificates...)
		if len(c.Events) > 0 && !(c.EventsOnChange && dev.lastVerdict == c.Verdict) {
			events = append(events, c.Events...)
		}
	}
	if len(kept) == 0 {
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			return err
		}
		open = false
		return nil
	}

	pb := &pgx.Batch{}
	pb.Queue(batchUpdateDevices, r.id, r.at, r.verdict, r.policy, r.nonceAt, r.nonceRandom,
		r.popAt, r.popVerdict, r.popOS, r.popOSVersion, r.popAgent, r.popCountry, r.mask, r.popDay)
	pb.Queue(batchInsertCheckins, r.id, r.at, r.verdict, r.policy, r.findings, r.os, r.osVersion, r.agent, r.statement, r.sourceIP)
	{
		days, verdicts, oses, ns := make([]string, len(dayOrder)), make([]string, len(dayOrder)), make([]string, len(dayOrder)), make([]int64, len(dayOrder))
		for i, k := range dayOrder {
			days[i], verdicts[i], oses[i], ns[i] = k[0], k[1], k[2], daily[k]
		}
		pb.Queue(batchDaily, days, verdicts, oses, ns)
	}
	{
		var names []string
		var ns []int64
		for _, name := range cntOrder {
			if n := counters[name]; n != 0 {
				names, ns = append(names, name), append(ns, n)
			}
		}
		pb.Queue(batchCounters, names, ns)
	}
	npop := 0
	if seg := sqldb.NetDeltas(pop); len(seg) > 0 {
		kind, day, os, ver, agent, country, key := make([]string, len(seg)), make([]string, len(seg)), make([]string, len(seg)),
			make([]string, len(seg)), make([]string, len(seg)), make([]string, len(seg)), make([]string, len(seg))
		ns := make([]int64, len(seg))
		for i, d := range seg {
			kind[i], day[i], os[i], ver[i], agent[i], country[i], key[i], ns[i] = string(d.Kind), d.Day,
				d.Segment.OS, d.Segment.OSVersion, d.Segment.Agent, d.Segment.Country, d.Key, d.N
		}
		pb.Queue(batchPopDaily, kind, day, os, ver, agent, country, key, ns)
		npop++
		tot := sqldb.TotalDeltas(seg)
		if len(tot) > 0 {
			tkind, tday, tkey, tns := make([]string, len(tot)), make([]string, len(tot)), make([]string, len(tot)), make([]int64, len(tot))
			for i, d := range tot {
				tkind[i], tday[i], tkey[i], tns[i] = string(d.Kind), d.Day, d.Key, d.N
			}
			pb.Queue(batchPopTotal, tkind, tday, tkey, tns)
			npop++
		}
	}
	if len(masks) > 0 {
		var ms []int32
		for m, n := range masks {
			if n != 0 {
				ms = append(ms, m)
			}
		}
		sort.Slice(ms, func(a, b int) bool { return ms[a] < ms[b] })
		ns := make([]int64, len(ms))
		for i, m := range ms {
			ns[i] = masks[m]
		}
		if len(ms) > 0 {
			pb.Queue(batchMasks, ms, ns)
			npop++
		}
	}
	ncert := queueCertificates(pb, certs)
	for _, e := range events {
		pb.Queue(`INSERT INTO webhook_outbox (event_id, audience, body, created_at, next_attempt) VALUES ($1, $2, $3, $4, $4)`,
			e.EventID, e.Audience, nonNil(e.Body), e.CreatedAt)
	}
	pb.Queue("COMMIT")
	br := conn.SendBatch(ctx, pb)
	ids2, err := b.readBatch(br, len(kept), npop, ncert, len(events))
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	open = false
	for _, j := range kept {
		j.finish(ids2[j.c.DeviceID], nil)
	}
	return nil
}

// readBatch reads the answers to runBatch's writes and returns the new
// check-ins' ids by device.
func (b *batcher) readBatch(br pgx.BatchResults, n, npop, ncert, nev int) (map[string]int64, error) {
	if tag, err := br.Exec(); err != nil {
		return nil, err
	} else if tag.RowsAffected() != int64(n) {
		return nil, fmt.Errorf("postgres: %d of %d device rows updated", tag.RowsAffected(), n)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	ids := make(map[string]int64, n)
	for rows.Next() {
		var id int64
		var dev string
		if err := rows.Scan(&id, &dev); err != nil {
			rows.Close()
			return nil, err
		}
		ids[dev] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("postgres: %d of %d check-ins inserted", len(ids), n)
	}
	for range 2 + npop + ncert + nev {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return nil, err
	}
	if tag.String() != "COMMIT" {
		return nil, fmt.Errorf("postgres: the batch did not commit (%s)", tag)
	}
	return ids, nil
}
