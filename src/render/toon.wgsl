// MToon-like toon shading: lit color / shade color with a soft terminator, Blinn specular,
// rim light. One small storage buffer, no textures, no shadow maps: cheap on lavapipe (platform-notes.md).
#import bevy_pbr::{forward_io::VertexOutput, mesh_view_bindings::view}

struct ToonParams {
    base: vec4<f32>,       // lit color (linear)
    shade: vec4<f32>,      // shade color (linear)
    rim: vec4<f32>,        // rim color (rgb), rim strength (a)
    light_dir: vec4<f32>,  // direction toward the key light (xyz), terminator position (w, 0..1)
    light_color: vec4<f32>,// key light color (rgb), specular strength (a)
    ambient: vec4<f32>,    // ambient fill (rgb), emissive flag (a: 1 = unlit)
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<storage, read> params: ToonParams;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    if params.ambient.a > 0.5 {
        return vec4<f32>(params.base.rgb, 1.0);
    }
    let n = normalize(in.world_normal);
    let l = normalize(params.light_dir.xyz);
    let v = normalize(view.world_position - in.world_position.xyz);
    let lambert = dot(n, l) * 0.5 + 0.5;
    let lit = smoothstep(params.light_dir.w - 0.06, params.light_dir.w + 0.06, lambert);
    // Lit side: base color under the key light; shade side: the shade color, lifted a little
    // by the ambient fill.
    let shade = params.shade.rgb * (vec3<f32>(0.8) + 0.35 * params.ambient.rgb);
    var color = mix(shade, params.base.rgb * params.light_color.rgb, lit);
    let h = normalize(l + v);
    let spec = smoothstep(0.92, 0.96, max(dot(n, h), 0.0)) * params.light_color.a;
    color += vec3<f32>(spec);
    let rim = pow(1.0 - clamp(dot(n, v), 0.0, 1.0), 4.0) * params.rim.a;
    color += params.rim.rgb * rim;
    return vec4<f32>(color, 1.0);
}
