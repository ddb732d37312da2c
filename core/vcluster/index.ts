/**
 * `corral/vcluster`: virtual clusters (seed `vcluster-api.txt`), created and deleted as one unit.
 *
 * ```ts
 * let vs = vclusterStateOf(cluster)
 * const text = '{"vcluster": {"name": "db", "instances": [...], "groupings": [...]}}'
 * const body = parseVclusterText(text)               // a syntax error names line and column
 * const r = createVcluster(vs, body.success, { id: "vc-1", flavors })
 * // r: the placed vcluster, or BadRequest (paths like vcluster.groupings[0].membersRef[1]),
 * // NotFound, AlreadyExists, NoValidHost (409)
 * showVcluster(vs, "vc-1"); deleteVcluster(vs, "vc-1")
 * ```
 */
export * from "./model.ts"
export * from "./vcluster.ts"
