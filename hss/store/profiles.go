package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// iFC sets, APN profiles and S-CSCF capability sets: named rows that subscribers refer to.

// namedRow is a profile row keyed by its name column.
type namedRow interface {
	ifcSetRow | apnRow | capabilitySetRow
}

func createNamed[T namedRow](s *DB, ctx context.Context, row *T, name, what string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if found, err := exists(tx, row, "name = ?", name); err != nil || found {
			return existsErr(err, "name", what+" "+name)
		}
		return conflict(tx.Create(row).Error)
	})
}

func updateNamed[T namedRow](s *DB, ctx context.Context, row *T, name, what string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(new(T)).Where("name = ?", name).Select("*").Updates(row)
		if res.Error == nil && res.RowsAffected == 0 {
			return fmt.Errorf("%s %s: %w", what, name, ErrNotFound)
		}
		return res.Error
	})
}

// deleteNamed refuses to delete a profile that a row of user still names in column.
func deleteNamed[T namedRow](s *DB, ctx context.Context, name, what string, user any, column string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if used, err := exists(tx, user, column+" = ?", name); err != nil || used {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s %s is used by subscribers: %w", what, name, ErrInUse)
		}
		res := tx.Delete(new(T), "name = ?", name)
		if res.Error == nil && res.RowsAffected == 0 {
			return fmt.Errorf("%s %s: %w", what, name, ErrNotFound)
		}
		return res.Error
	})
}

func getNamed[T namedRow](s *DB, ctx context.Context, name, what string) (*T, error) {
	var row T
	err := s.rdb.WithContext(ctx).Take(&row, "name = ?", name).Error
	return &row, notFound(err, what+" "+name)
}

func listNamed[T namedRow](s *DB, ctx context.Context) ([]T, error) {
	var rows []T
	err := s.rdb.WithContext(ctx).Order("name").Find(&rows).Error
	return rows, err
}

const (
	whatIFCSet        = "iFC set"
	whatAPN           = "APN profile"
	whatCapabilitySet = "S-CSCF capability set"
)

// CreateIFCSet implements Store.
func (s *DB) CreateIFCSet(ctx context.Context, set *IFCSet) error {
	if err := set.Validate(); err != nil {
		return err
	}
	row := ifcSetRow{Name: set.Name, Description: set.Description, XML: set.XML, UpdatedAt: s.db.NowFunc()}
	return createNamed(s, ctx, &row, set.Name, whatIFCSet)
}

// UpdateIFCSet implements Store.
func (s *DB) UpdateIFCSet(ctx context.Context, set *IFCSet) error {
	if err := set.Validate(); err != nil {
		return err
	}
	defer s.cache.forgetIFCSet(set.Name)
	row := ifcSetRow{Name: set.Name, Description: set.Description, XML: set.XML, UpdatedAt: s.db.NowFunc()}
	return updateNamed(s, ctx, &row, set.Name, whatIFCSet)
}

// DeleteIFCSet implements Store.
func (s *DB) DeleteIFCSet(ctx context.Context, name string) error {
	defer s.cache.forgetIFCSet(name)
	return deleteNamed[ifcSetRow](s, ctx, name, whatIFCSet, &imsRow{}, "ifc_set")
}

// IFCSet implements Store. On SQLite the set comes from the cache when it can: every SAR
// that returns user data reads it.
func (s *DB) IFCSet(ctx context.Context, name string) (*IFCSet, error) {
	set, gen := s.cache.ifcSet(name)
	if set == nil {
		row, err := getNamed[ifcSetRow](s, ctx, name, whatIFCSet)
		if err != nil {
			return nil, err
		}
		set = row.set()
		s.cache.putIFCSet(set, gen)
	}
	out := *set
	return &out, nil
}

// ListIFCSets implements Store.
func (s *DB) ListIFCSets(ctx context.Context) ([]*IFCSet, error) {
	rows, err := listNamed[ifcSetRow](s, ctx)
	out := make([]*IFCSet, len(rows))
	for i := range rows {
		out[i] = rows[i].set()
	}
	return out, err
}

// AssignedIMPIs implements Store.
func (s *DB) AssignedIMPIs(ctx context.Context, ifcSet string) ([]string, error) {
	var impis []string
	err := s.rdb.WithContext(ctx).Model(&imsRow{}).Where("ifc_set = ? AND scscf_name <> ''", ifcSet).
		Order("impi").Pluck("impi", &impis).Error
	return impis, err
}

// CreateAPN implements Store.
func (s *DB) CreateAPN(ctx context.Context, apn *APNProfile) error {
	if err := apn.Validate(); err != nil {
		return err
	}
	row := apnRowOf(apn)
	return createNamed(s, ctx, &row, apn.Name, whatAPN)
}

// UpdateAPN implements Store.
func (s *DB) UpdateAPN(ctx context.Context, apn *APNProfile) error {
	if err := apn.Validate(); err != nil {
		return err
	}
	row := apnRowOf(apn)
	return updateNamed(s, ctx, &row, apn.Name, whatAPN)
}

// DeleteAPN implements Store.
func (s *DB) DeleteAPN(ctx context.Context, name string) error {
	return deleteNamed[apnRow](s, ctx, name, whatAPN, &subscriberAPNRow{}, "apn")
}

// APN implements Store.
func (s *DB) APN(ctx context.Context, name string) (*APNProfile, error) {
	row, err := getNamed[apnRow](s, ctx, name, whatAPN)
	if err != nil {
		return nil, err
	}
	return row.profile(), nil
}

// ListAPNs implements Store.
func (s *DB) ListAPNs(ctx context.Context) ([]*APNProfile, error) {
	rows, err := listNamed[apnRow](s, ctx)
	out := make([]*APNProfile, len(rows))
	for i := range rows {
		out[i] = rows[i].profile()
	}
	return out, err
}

// CreateCapabilitySet implements Store.
func (s *DB) CreateCapabilitySet(ctx context.Context, set *CapabilitySet) error {
	if err := set.Validate(); err != nil {
		return err
	}
	row := capabilitySetRowOf(set)
	return createNamed(s, ctx, &row, set.Name, whatCapabilitySet)
}

// UpdateCapabilitySet implements Store.
func (s *DB) UpdateCapabilitySet(ctx context.Context, set *CapabilitySet) error {
	if err := set.Validate(); err != nil {
		return err
	}
	row := capabilitySetRowOf(set)
	return updateNamed(s, ctx, &row, set.Name, whatCapabilitySet)
}

// DeleteCapabilitySet implements Store.
func (s *DB) DeleteCapabilitySet(ctx context.Context, name string) error {
	return deleteNamed[capabilitySetRow](s, ctx, name, whatCapabilitySet, &imsRow{}, "capability_set")
}

// CapabilitySet implements Store.
func (s *DB) CapabilitySet(ctx context.Context, name string) (*CapabilitySet, error) {
	row, err := getNamed[capabilitySetRow](s, ctx, name, whatCapabilitySet)
	if err != nil {
		return nil, err
	}
	return row.set(), nil
}

// ListCapabilitySets implements Store.
func (s *DB) ListCapabilitySets(ctx context.Context) ([]*CapabilitySet, error) {
	rows, err := listNamed[capabilitySetRow](s, ctx)
	out := make([]*CapabilitySet, len(rows))
	for i := range rows {
		out[i] = rows[i].set()
	}
	return out, err
}
