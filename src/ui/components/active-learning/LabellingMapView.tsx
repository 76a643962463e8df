import { memo, useMemo } from 'react';
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, XAxis, YAxis } from 'recharts';
import { LABELLING_MAP_SUGGESTED, LABELLING_MAP_UNLABELLED, type LabellingMap } from '../../../worker/protocol';
import { CLASS_COLORS } from '../EmbeddingView';

interface MapPoint {
  x: number;
  y: number;
}

/**
 * The embedding view of your own folder after a cycle: a PCA map of the trained features with the
 * labelled images in their class colours, the unlabelled ones grey and the suggestions as black
 * crosses. Core-set's suggestions should sit away from every labelled point.
 */
export const LabellingMapView = memo(function LabellingMapView({ map, classNames }: { map: LabellingMap; classNames: string[] }) {
  const groups = useMemo(() => {
    const byKind = new Map<number, MapPoint[]>();
    map.kinds.forEach((kind, i) => {
      if (!Number.isFinite(map.x[i]) || !Number.isFinite(map.y[i])) return;
      byKind.set(kind, [...(byKind.get(kind) ?? []), { x: map.x[i], y: map.y[i] }]);
    });
    return byKind;
  }, [map]);
  const count = (kind: number) => groups.get(kind)?.length ?? 0;
  const labelled = classNames.reduce((n, _, c) => n + count(c), 0);
  return (
    <figure
      className="chart"
      aria-label="Labelling map"
      data-labelled={labelled}
      data-suggested={count(LABELLING_MAP_SUGGESTED)}
      data-unlabelled={count(LABELLING_MAP_UNLABELLED)}
    >
      <figcaption>
        <h3>Labelling map</h3>
        <p>
          PCA of the trained backbone features (L2-normalised): {labelled} labelled images in their class colours, {count(LABELLING_MAP_SUGGESTED)} suggested (black crosses) and{' '}
          {count(LABELLING_MAP_UNLABELLED)} unlabelled (grey), as they were when the cycle ended.
        </p>
      </figcaption>
      <ResponsiveContainer width="100%" height={320}>
        <ScatterChart margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
          <XAxis dataKey="x" type="number" name="PC 1" fontSize={12} tickFormatter={(v: number) => v.toFixed(2)} domain={['auto', 'auto']} />
          <YAxis dataKey="y" type="number" name="PC 2" fontSize={12} width={56} tickFormatter={(v: number) => v.toFixed(2)} domain={['auto', 'auto']} />
          <Legend />
          <Scatter name="unlabelled" data={groups.get(LABELLING_MAP_UNLABELLED) ?? []} fill="#d1d5db" isAnimationActive={false} />
          {classNames.map((name, c) => (
            <Scatter key={name} name={name} data={groups.get(c) ?? []} fill={CLASS_COLORS[c % CLASS_COLORS.length]} isAnimationActive={false} />
          ))}
          <Scatter name="suggested" data={groups.get(LABELLING_MAP_SUGGESTED) ?? []} fill="#111827" shape="cross" isAnimationActive={false} />
        </ScatterChart>
      </ResponsiveContainer>
    </figure>
  );
});
