// Package shuffle holds the typed algorithms of Stoke's keyed operators:
// bucket writers for the map side of a shuffle, and an external hash
// aggregation (combine values by key, spill sorted runs when execution
// memory runs out, merge them) used on both sides. Records stay in their Go
// types; batches of them are encoded only at block and spill boundaries.
package shuffle
