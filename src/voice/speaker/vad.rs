//! WebRTC's voice activity detector, the fixed-point C code that py-webrtcvad wraps
//! (`webrtc/common_audio/vad/{webrtc_vad,vad_core,vad_filterbank,vad_gmm,vad_sp}.c` and the
//! `signal_processing` helpers they call), ported line by line for the one case Resemblyzer
//! uses: 30 ms frames at 16 kHz. Decisions are bit-exact with the C code: every C `int16_t`
//! store is an `as i16` (two's-complement wrap, as gcc does), every `int` sum a wrapping i32.
//!
//! Port of code under this notice:
//!
//! Copyright (c) 2011-2012, The WebRTC project authors. All rights reserved.
//!
//! Redistribution and use in source and binary forms, with or without modification, are
//! permitted provided that the following conditions are met: Redistributions of source code
//! must retain the above copyright notice, this list of conditions and the following
//! disclaimer. Redistributions in binary form must reproduce the above copyright notice, this
//! list of conditions and the following disclaimer in the documentation and/or other materials
//! provided with the distribution. Neither the name of Google nor the names of its
//! contributors may be used to endorse or promote products derived from this software without
//! specific prior written permission. THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND
//! CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO,
//! THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
//! DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT,
//! INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
//! LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR
//! BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT,
//! STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE
//! USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

/// Samples in one frame: 30 ms at 16 kHz.
pub const FRAME_16KHZ: usize = 480;
/// The same frame after downsampling to 8 kHz.
const FRAME_8KHZ: usize = FRAME_16KHZ / 2;

const NUM_CHANNELS: usize = 6;
const NUM_GAUSSIANS: usize = 2;
const TABLE_SIZE: usize = NUM_CHANNELS * NUM_GAUSSIANS;
const MIN_ENERGY: i16 = 10;

// vad_core.c
const SPECTRUM_WEIGHT: [i16; NUM_CHANNELS] = [6, 8, 10, 12, 14, 16];
const NOISE_UPDATE_CONST: i16 = 655; // Q15
const SPEECH_UPDATE_CONST: i16 = 6554; // Q15
const BACK_ETA: i16 = 154; // Q8
const MINIMUM_DIFFERENCE: [i16; NUM_CHANNELS] = [544, 544, 576, 576, 576, 576];
const MAXIMUM_SPEECH: [i16; NUM_CHANNELS] = [11392, 11392, 11520, 11520, 11520, 11520];
const MINIMUM_MEAN: [i16; NUM_GAUSSIANS] = [640, 768];
const MAXIMUM_NOISE: [i16; NUM_CHANNELS] = [9216, 9088, 8960, 8832, 8704, 8576];
const NOISE_DATA_WEIGHTS: [i16; TABLE_SIZE] = [34, 62, 72, 66, 53, 25, 94, 66, 56, 62, 75, 103];
const SPEECH_DATA_WEIGHTS: [i16; TABLE_SIZE] = [48, 82, 45, 87, 50, 47, 80, 46, 83, 41, 78, 81];
const NOISE_DATA_MEANS: [i16; TABLE_SIZE] = [
    6738, 4892, 7065, 6715, 6771, 3369, 7646, 3863, 7820, 7266, 5020, 4362,
];
const SPEECH_DATA_MEANS: [i16; TABLE_SIZE] = [
    8306, 10085, 10078, 11823, 11843, 6309, 9473, 9571, 10879, 7581, 8180, 7483,
];
const NOISE_DATA_STDS: [i16; TABLE_SIZE] =
    [378, 1064, 493, 582, 688, 593, 474, 697, 475, 688, 421, 455];
const SPEECH_DATA_STDS: [i16; TABLE_SIZE] = [
    555, 505, 567, 524, 585, 1231, 509, 828, 492, 1540, 1079, 850,
];
const MAX_SPEECH_FRAMES: i16 = 6;
const MIN_STD: i16 = 384;

// vad_filterbank.c
const LOG_CONST: i16 = 24660; // 160*log10(2) in Q9
const LOG_ENERGY_INT_PART: i16 = 14336; // 14 in Q10
const HP_ZERO_COEFS: [i16; 3] = [6631, -13262, 6631];
const HP_POLE_COEFS: [i16; 3] = [16384, -7756, 5620];
const ALL_PASS_COEFS_Q15: [i16; 2] = [20972, 5571];
const OFFSET_VECTOR: [i16; NUM_CHANNELS] = [368, 368, 272, 176, 176, 176];

// vad_gmm.c
const COMP_VAR: i32 = 22005;
const LOG2_EXP: i16 = 5909; // log2(exp(1)) in Q12

// vad_sp.c
const ALL_PASS_COEFS_Q13: [i16; 2] = [5243, 1392];
const SMOOTHING_DOWN: i16 = 6553; // 0.2 in Q15
const SMOOTHING_UP: i16 = 32439; // 0.99 in Q15

/// Aggressiveness, as `webrtcvad.Vad(mode)`: 0 quality … 3 very aggressive (Resemblyzer: 3;
/// the others are kept from the C code).
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Quality,
    LowBitrate,
    Aggressive,
    VeryAggressive,
}

impl Mode {
    /// (over_hang_max_1, over_hang_max_2, individual, total), each for 10/20/30 ms frames.
    fn thresholds(self) -> ([i16; 3], [i16; 3], [i16; 3], [i16; 3]) {
        match self {
            Mode::Quality => ([8, 4, 3], [14, 7, 5], [24, 21, 24], [57, 48, 57]),
            Mode::LowBitrate => ([8, 4, 3], [14, 7, 5], [37, 32, 37], [100, 80, 100]),
            Mode::Aggressive => ([6, 3, 2], [9, 5, 3], [82, 78, 82], [285, 260, 285]),
            Mode::VeryAggressive => ([6, 3, 2], [9, 5, 3], [94, 94, 94], [1100, 1050, 1100]),
        }
    }
}

/// One VAD instance (`VadInstT`): decisions depend on the frames seen before.
#[derive(Debug, Clone)]
pub struct Vad {
    downsampling_filter_states: [i32; 2],
    noise_means: [i16; TABLE_SIZE],
    speech_means: [i16; TABLE_SIZE],
    noise_stds: [i16; TABLE_SIZE],
    speech_stds: [i16; TABLE_SIZE],
    frame_counter: i32,
    over_hang: i16,
    num_of_speech: i16,
    index_vector: [i16; 16 * NUM_CHANNELS],
    low_value_vector: [i16; 16 * NUM_CHANNELS],
    mean_value: [i16; NUM_CHANNELS],
    upper_state: [i16; 5],
    lower_state: [i16; 5],
    hp_filter_state: [i16; 4],
    over_hang_max_1: [i16; 3],
    over_hang_max_2: [i16; 3],
    individual: [i16; 3],
    total: [i16; 3],
}

impl Vad {
    /// `WebRtcVad_Create` + `WebRtcVad_Init` + `WebRtcVad_set_mode`.
    pub fn new(mode: Mode) -> Vad {
        let (over_hang_max_1, over_hang_max_2, individual, total) = mode.thresholds();
        Vad {
            downsampling_filter_states: [0; 2],
            noise_means: NOISE_DATA_MEANS,
            speech_means: SPEECH_DATA_MEANS,
            noise_stds: NOISE_DATA_STDS,
            speech_stds: SPEECH_DATA_STDS,
            frame_counter: 0,
            over_hang: 0,
            num_of_speech: 0,
            index_vector: [0; 16 * NUM_CHANNELS],
            low_value_vector: [10000; 16 * NUM_CHANNELS],
            mean_value: [1600; NUM_CHANNELS],
            upper_state: [0; 5],
            lower_state: [0; 5],
            hp_filter_state: [0; 4],
            over_hang_max_1,
            over_hang_max_2,
            individual,
            total,
        }
    }

    /// `WebRtcVad_Process(fs = 16000)` on one 30 ms frame: true for speech.
    pub fn is_speech(&mut self, frame: &[i16; FRAME_16KHZ]) -> bool {
        // WebRtcVad_CalcVad16khz: downsample to 8 kHz, then WebRtcVad_CalcVad8khz.
        let mut speech_nb = [0i16; FRAME_8KHZ];
        downsampling(frame, &mut speech_nb, &mut self.downsampling_filter_states);
        let (total_power, features) = self.calculate_features(&speech_nb);
        self.gmm_probability(&features, total_power, FRAME_8KHZ) > 0
    }

    /// `WebRtcVad_CalculateFeatures`: log energies of six bands (80–250, 250–500, 500–1000,
    /// 1000–2000, 2000–3000, 3000–4000 Hz) in Q4, and an approximate total energy.
    fn calculate_features(&mut self, data_in: &[i16]) -> (i16, [i16; NUM_CHANNELS]) {
        let mut total_energy: i16 = 0;
        let mut features = [0i16; NUM_CHANNELS];
        let mut hp_120 = [0i16; 120];
        let mut lp_120 = [0i16; 120];
        let mut hp_60 = [0i16; 60];
        let mut lp_60 = [0i16; 60];
        let half_data_length = data_in.len() >> 1;
        let mut length = half_data_length;

        // Split at 2000 Hz and downsample.
        split_filter(
            data_in,
            &mut self.upper_state[0],
            &mut self.lower_state[0],
            &mut hp_120[..half_data_length],
            &mut lp_120[..half_data_length],
        );
        // Upper band (2000–4000 Hz): split at 3000 Hz.
        split_filter(
            &hp_120[..length],
            &mut self.upper_state[1],
            &mut self.lower_state[1],
            &mut hp_60[..length / 2],
            &mut lp_60[..length / 2],
        );
        length >>= 1;
        features[5] = log_of_energy(&hp_60[..length], OFFSET_VECTOR[5], &mut total_energy);
        features[4] = log_of_energy(&lp_60[..length], OFFSET_VECTOR[4], &mut total_energy);

        // Lower band (0–2000 Hz): split at 1000 Hz.
        length = half_data_length;
        split_filter(
            &lp_120[..length],
            &mut self.upper_state[2],
            &mut self.lower_state[2],
            &mut hp_60[..length / 2],
            &mut lp_60[..length / 2],
        );
        length >>= 1;
        features[3] = log_of_energy(&hp_60[..length], OFFSET_VECTOR[3], &mut total_energy);

        // 0–1000 Hz: split at 500 Hz.
        split_filter(
            &lp_60[..length],
            &mut self.upper_state[3],
            &mut self.lower_state[3],
            &mut hp_120[..length / 2],
            &mut lp_120[..length / 2],
        );
        length >>= 1;
        features[2] = log_of_energy(&hp_120[..length], OFFSET_VECTOR[2], &mut total_energy);

        // 0–500 Hz: split at 250 Hz.
        split_filter(
            &lp_120[..length],
            &mut self.upper_state[4],
            &mut self.lower_state[4],
            &mut hp_60[..length / 2],
            &mut lp_60[..length / 2],
        );
        length >>= 1;
        features[1] = log_of_energy(&hp_60[..length], OFFSET_VECTOR[1], &mut total_energy);

        // Remove 0–80 Hz by high pass filtering the lowest band.
        high_pass_filter(
            &lp_60[..length],
            &mut self.hp_filter_state,
            &mut hp_120[..length],
        );
        features[0] = log_of_energy(&hp_120[..length], OFFSET_VECTOR[0], &mut total_energy);

        (total_energy, features)
    }

    /// `GmmProbability`: the likelihood-ratio test per band and overall, the model update and
    /// the hangover smoothing. Returns 0 (noise) or > 0 (speech).
    fn gmm_probability(
        &mut self,
        features: &[i16; NUM_CHANNELS],
        total_power: i16,
        frame_length: usize,
    ) -> i16 {
        let idx = match frame_length {
            80 => 0,
            160 => 1,
            _ => 2,
        };
        let overhead1 = self.over_hang_max_1[idx];
        let overhead2 = self.over_hang_max_2[idx];
        let individual_test = self.individual[idx];
        let total_test = self.total[idx];
        let mut vadflag: i16 = 0;

        if total_power > MIN_ENERGY {
            let mut delta_n = [0i16; TABLE_SIZE];
            let mut delta_s = [0i16; TABLE_SIZE];
            let mut ngprvec = [0i16; TABLE_SIZE];
            let mut sgprvec = [0i16; TABLE_SIZE];
            let mut sum_log_likelihood_ratios: i32 = 0;
            let mut noise_probability = [0i32; NUM_GAUSSIANS];
            let mut speech_probability = [0i32; NUM_GAUSSIANS];

            for channel in 0..NUM_CHANNELS {
                let mut h0_test: i32 = 0;
                let mut h1_test: i32 = 0;
                for k in 0..NUM_GAUSSIANS {
                    let gaussian = channel + k * NUM_CHANNELS;
                    let (p, d) = gaussian_probability(
                        features[channel],
                        self.noise_means[gaussian],
                        self.noise_stds[gaussian],
                    );
                    delta_n[gaussian] = d;
                    noise_probability[k] = i32::from(NOISE_DATA_WEIGHTS[gaussian]).wrapping_mul(p);
                    h0_test = h0_test.wrapping_add(noise_probability[k]);

                    let (p, d) = gaussian_probability(
                        features[channel],
                        self.speech_means[gaussian],
                        self.speech_stds[gaussian],
                    );
                    delta_s[gaussian] = d;
                    speech_probability[k] =
                        i32::from(SPEECH_DATA_WEIGHTS[gaussian]).wrapping_mul(p);
                    h1_test = h1_test.wrapping_add(speech_probability[k]);
                }

                let shifts_h0 = if h0_test == 0 { 31 } else { norm_w32(h0_test) };
                let shifts_h1 = if h1_test == 0 { 31 } else { norm_w32(h1_test) };
                let log_likelihood_ratio = shifts_h0.wrapping_sub(shifts_h1);

                sum_log_likelihood_ratios = sum_log_likelihood_ratios.wrapping_add(
                    i32::from(log_likelihood_ratio) * i32::from(SPECTRUM_WEIGHT[channel]),
                );

                if (i32::from(log_likelihood_ratio) << 2) > i32::from(individual_test) {
                    vadflag = 1;
                }

                let h0 = (h0_test >> 12) as i16; // Q15
                if h0 > 0 {
                    let tmp1_s32 = (((noise_probability[0] as u32) & 0xFFFF_F000) << 2) as i32;
                    ngprvec[channel] = div_w32_w16(tmp1_s32, h0) as i16;
                    ngprvec[channel + NUM_CHANNELS] = 16384i16.wrapping_sub(ngprvec[channel]);
                } else {
                    ngprvec[channel] = 16384;
                }

                let h1 = (h1_test >> 12) as i16; // Q15
                if h1 > 0 {
                    let tmp1_s32 = (((speech_probability[0] as u32) & 0xFFFF_F000) << 2) as i32;
                    sgprvec[channel] = div_w32_w16(tmp1_s32, h1) as i16;
                    sgprvec[channel + NUM_CHANNELS] = 16384i16.wrapping_sub(sgprvec[channel]);
                }
            }

            // The global decision.
            if sum_log_likelihood_ratios >= i32::from(total_test) {
                vadflag |= 1;
            }

            // Update the model parameters.
            let mut maxspe: i16 = 12800;
            for channel in 0..NUM_CHANNELS {
                let feature_minimum = self.find_minimum(features[channel], channel);

                let noise_global_mean =
                    weighted_average(&mut self.noise_means, channel, 0, &NOISE_DATA_WEIGHTS);
                let tmp1_s16 = (noise_global_mean >> 6) as i16; // Q8

                for (k, &minimum_mean) in MINIMUM_MEAN.iter().enumerate() {
                    let gaussian = channel + k * NUM_CHANNELS;
                    let nmk = self.noise_means[gaussian];
                    let smk = self.speech_means[gaussian];
                    let mut nsk = self.noise_stds[gaussian];
                    let mut ssk = self.speech_stds[gaussian];

                    // Update the noise mean if the frame is noise only.
                    let mut nmk2 = nmk;
                    if vadflag == 0 {
                        let delt = mul_rsft(ngprvec[gaussian], delta_n[gaussian], 11) as i16;
                        nmk2 = nmk.wrapping_add(mul_rsft(delt, NOISE_UPDATE_CONST, 22) as i16);
                    }

                    // Long term correction of the noise mean.
                    let ndelt =
                        (i32::from(feature_minimum) << 4).wrapping_sub(i32::from(tmp1_s16)) as i16;
                    let mut nmk3 = nmk2.wrapping_add(mul_rsft(ndelt, BACK_ETA, 9) as i16);

                    let lo = ((k as i32 + 5) << 7) as i16;
                    if nmk3 < lo {
                        nmk3 = lo;
                    }
                    let hi = ((72 + k as i32 - channel as i32) << 7) as i16;
                    if nmk3 > hi {
                        nmk3 = hi;
                    }
                    self.noise_means[gaussian] = nmk3;

                    if vadflag != 0 {
                        // Update the speech mean.
                        let delt = mul_rsft(sgprvec[gaussian], delta_s[gaussian], 11) as i16;
                        let tmp_s16 = mul_rsft(delt, SPEECH_UPDATE_CONST, 21) as i16;
                        let mut smk2 = (i32::from(smk) + ((i32::from(tmp_s16) + 1) >> 1)) as i16;

                        let maxmu = (i32::from(maxspe) + 640) as i16;
                        if smk2 < minimum_mean {
                            smk2 = minimum_mean;
                        }
                        if smk2 > maxmu {
                            smk2 = maxmu;
                        }
                        self.speech_means[gaussian] = smk2;

                        let tmp_s16 = ((i32::from(smk) + 4) >> 3) as i16;
                        let tmp_s16 = (i32::from(features[channel]) - i32::from(tmp_s16)) as i16;
                        let tmp1_s32 = mul_rsft(delta_s[gaussian], tmp_s16, 3);
                        let tmp2_s32 = tmp1_s32.wrapping_sub(4096);
                        let tmp_s16 = sgprvec[gaussian] >> 2;
                        let tmp1_s32 = i32::from(tmp_s16).wrapping_mul(tmp2_s32);
                        let tmp2_s32 = tmp1_s32 >> 4; // Q20

                        let den = (i32::from(ssk) * 10) as i16;
                        let mut tmp_s16 = if tmp2_s32 > 0 {
                            div_w32_w16(tmp2_s32, den) as i16
                        } else {
                            (div_w32_w16(tmp2_s32.wrapping_neg(), den) as i16).wrapping_neg()
                        };
                        tmp_s16 = tmp_s16.wrapping_add(128);
                        ssk = ssk.wrapping_add(tmp_s16 >> 8);
                        if ssk < MIN_STD {
                            ssk = MIN_STD;
                        }
                        self.speech_stds[gaussian] = ssk;
                    } else {
                        // Update the noise variance.
                        let tmp_s16 = (i32::from(features[channel]) - i32::from(nmk >> 3)) as i16;
                        let mut tmp1_s32 = mul_rsft(delta_n[gaussian], tmp_s16, 3);
                        tmp1_s32 = tmp1_s32.wrapping_sub(4096);
                        let tmp_s16 = ((i32::from(ngprvec[gaussian]) + 2) >> 2) as i16;
                        let tmp2_s32 = i32::from(tmp_s16).wrapping_mul(tmp1_s32);
                        let tmp1_s32 = tmp2_s32 >> 14;
                        let mut tmp_s16 = if tmp1_s32 > 0 {
                            div_w32_w16(tmp1_s32, nsk) as i16
                        } else {
                            (div_w32_w16(tmp1_s32.wrapping_neg(), nsk) as i16).wrapping_neg()
                        };
                        tmp_s16 = tmp_s16.wrapping_add(32);
                        nsk = nsk.wrapping_add(tmp_s16 >> 6);
                        if nsk < MIN_STD {
                            nsk = MIN_STD;
                        }
                        self.noise_stds[gaussian] = nsk;
                    }
                }

                // Separate the models if they are too close.
                let mut noise_global_mean =
                    weighted_average(&mut self.noise_means, channel, 0, &NOISE_DATA_WEIGHTS);
                let mut speech_global_mean =
                    weighted_average(&mut self.speech_means, channel, 0, &SPEECH_DATA_WEIGHTS);
                let diff = (i32::from((speech_global_mean >> 9) as i16)
                    - i32::from((noise_global_mean >> 9) as i16)) as i16;
                if diff < MINIMUM_DIFFERENCE[channel] {
                    let tmp_s16 = (i32::from(MINIMUM_DIFFERENCE[channel]) - i32::from(diff)) as i16;
                    let tmp1_s16 = mul_rsft(13, tmp_s16, 2) as i16;
                    let tmp2_s16 = mul_rsft(3, tmp_s16, 2) as i16;
                    speech_global_mean = weighted_average(
                        &mut self.speech_means,
                        channel,
                        tmp1_s16,
                        &SPEECH_DATA_WEIGHTS,
                    );
                    noise_global_mean = weighted_average(
                        &mut self.noise_means,
                        channel,
                        tmp2_s16.wrapping_neg(),
                        &NOISE_DATA_WEIGHTS,
                    );
                }

                // Keep the means from drifting too far.
                maxspe = MAXIMUM_SPEECH[channel];
                let mut tmp2_s16 = (speech_global_mean >> 7) as i16;
                if tmp2_s16 > maxspe {
                    tmp2_s16 = tmp2_s16.wrapping_sub(maxspe);
                    for k in 0..NUM_GAUSSIANS {
                        let g = channel + k * NUM_CHANNELS;
                        self.speech_means[g] = self.speech_means[g].wrapping_sub(tmp2_s16);
                    }
                }
                let mut tmp2_s16 = (noise_global_mean >> 7) as i16;
                if tmp2_s16 > MAXIMUM_NOISE[channel] {
                    tmp2_s16 = tmp2_s16.wrapping_sub(MAXIMUM_NOISE[channel]);
                    for k in 0..NUM_GAUSSIANS {
                        let g = channel + k * NUM_CHANNELS;
                        self.noise_means[g] = self.noise_means[g].wrapping_sub(tmp2_s16);
                    }
                }
            }
            self.frame_counter = self.frame_counter.wrapping_add(1);
        }

        // Hangover smoothing.
        if vadflag == 0 {
            if self.over_hang > 0 {
                vadflag = 2i16.wrapping_add(self.over_hang);
                self.over_hang -= 1;
            }
            self.num_of_speech = 0;
        } else {
            self.num_of_speech = self.num_of_speech.wrapping_add(1);
            if self.num_of_speech > MAX_SPEECH_FRAMES {
                self.num_of_speech = MAX_SPEECH_FRAMES;
                self.over_hang = overhead2;
            } else {
                self.over_hang = overhead1;
            }
        }
        vadflag
    }

    /// `WebRtcVad_FindMinimum`: keeps the 16 smallest feature values of the last 100 frames and
    /// returns the smoothed median of the five smallest.
    fn find_minimum(&mut self, feature_value: i16, channel: usize) -> i16 {
        let offset = channel << 4;
        let age = &mut self.index_vector[offset..offset + 16];
        let smallest_values = &mut self.low_value_vector[offset..offset + 16];

        for i in 0..16 {
            if age[i] != 100 {
                age[i] = age[i].wrapping_add(1);
            } else {
                for j in i..15 {
                    smallest_values[j] = smallest_values[j + 1];
                    age[j] = age[j + 1];
                }
                age[15] = 101;
                smallest_values[15] = 10000;
            }
        }

        let s = &*smallest_values;
        let position: Option<usize> = if feature_value < s[7] {
            if feature_value < s[3] {
                if feature_value < s[1] {
                    if feature_value < s[0] {
                        Some(0)
                    } else {
                        Some(1)
                    }
                } else if feature_value < s[2] {
                    Some(2)
                } else {
                    Some(3)
                }
            } else if feature_value < s[5] {
                if feature_value < s[4] {
                    Some(4)
                } else {
                    Some(5)
                }
            } else if feature_value < s[6] {
                Some(6)
            } else {
                Some(7)
            }
        } else if feature_value < s[15] {
            if feature_value < s[11] {
                if feature_value < s[9] {
                    if feature_value < s[8] {
                        Some(8)
                    } else {
                        Some(9)
                    }
                } else if feature_value < s[10] {
                    Some(10)
                } else {
                    Some(11)
                }
            } else if feature_value < s[13] {
                if feature_value < s[12] {
                    Some(12)
                } else {
                    Some(13)
                }
            } else if feature_value < s[14] {
                Some(14)
            } else {
                Some(15)
            }
        } else {
            None
        };

        if let Some(position) = position {
            for i in (position + 1..16).rev() {
                smallest_values[i] = smallest_values[i - 1];
                age[i] = age[i - 1];
            }
            smallest_values[position] = feature_value;
            age[position] = 1;
        }

        let mut current_median: i16 = 1600;
        if self.frame_counter > 2 {
            current_median = smallest_values[2];
        } else if self.frame_counter > 0 {
            current_median = smallest_values[0];
        }

        let mut alpha: i16 = 0;
        if self.frame_counter > 0 {
            alpha = if current_median < self.mean_value[channel] {
                SMOOTHING_DOWN
            } else {
                SMOOTHING_UP
            };
        }
        let mut tmp32 = (i32::from(alpha) + 1).wrapping_mul(i32::from(self.mean_value[channel]));
        tmp32 = tmp32.wrapping_add(
            (i32::from(i16::MAX) - i32::from(alpha)).wrapping_mul(i32::from(current_median)),
        );
        tmp32 = tmp32.wrapping_add(16384);
        self.mean_value[channel] = (tmp32 >> 15) as i16;
        self.mean_value[channel]
    }
}

/// `WEBRTC_SPL_MUL_16_16_RSFT(a, b, c)`.
fn mul_rsft(a: i16, b: i16, c: u32) -> i32 {
    (i32::from(a) * i32::from(b)) >> c
}

/// `WeightedAverage`: adds `offset` to both Gaussians' values of `channel`, returns their
/// weighted sum.
fn weighted_average(
    data: &mut [i16; TABLE_SIZE],
    channel: usize,
    offset: i16,
    weights: &[i16; TABLE_SIZE],
) -> i32 {
    let mut weighted_average: i32 = 0;
    for k in 0..NUM_GAUSSIANS {
        let i = channel + k * NUM_CHANNELS;
        data[i] = data[i].wrapping_add(offset);
        weighted_average =
            weighted_average.wrapping_add(i32::from(data[i]) * i32::from(weights[i]));
    }
    weighted_average
}

/// `WebRtcVad_GaussianProbability`: (probability in Q20, delta in Q11) of `input` (Q4) under
/// a normal distribution with `mean` and `std` (Q7).
fn gaussian_probability(input: i16, mean: i16, std: i16) -> (i32, i16) {
    let tmp32 = 131072i32 + i32::from(std >> 1);
    let inv_std = div_w32_w16(tmp32, std) as i16;
    let tmp16 = inv_std >> 2;
    let inv_std2 = mul_rsft(tmp16, tmp16, 2) as i16;
    let tmp16 = (i32::from(input) << 3) as i16;
    let tmp16 = (i32::from(tmp16) - i32::from(mean)) as i16;
    let delta = mul_rsft(inv_std2, tmp16, 10) as i16;
    let tmp32 = mul_rsft(delta, tmp16, 9);
    let mut exp_value: i16 = 0;
    if tmp32 < COMP_VAR {
        let mut t = mul_rsft(LOG2_EXP, tmp32 as i16, 12) as i16;
        t = t.wrapping_neg();
        exp_value = 0x0400 | (t & 0x03FF);
        t = !t;
        t >>= 10;
        t = t.wrapping_add(1);
        // A C shift of an int by `t`; x86 masks the count to 5 bits.
        exp_value = i32::from(exp_value).wrapping_shr(t as i32 as u32) as i16;
    }
    (i32::from(inv_std) * i32::from(exp_value), delta)
}

/// `WebRtcVad_Downsampling`: halves the rate with two all-pass branches.
fn downsampling(signal_in: &[i16], signal_out: &mut [i16], filter_state: &mut [i32; 2]) {
    let mut tmp32_1 = filter_state[0];
    let mut tmp32_2 = filter_state[1];
    for (out, pair) in signal_out.iter_mut().zip(signal_in.chunks_exact(2)) {
        let (a, b) = (i32::from(pair[0]), i32::from(pair[1]));
        let tmp16_1 =
            (tmp32_1 >> 1).wrapping_add((i32::from(ALL_PASS_COEFS_Q13[0]) * a) >> 14) as i16;
        tmp32_1 = a.wrapping_sub((i32::from(ALL_PASS_COEFS_Q13[0]) * i32::from(tmp16_1)) >> 12);
        let tmp16_2 =
            (tmp32_2 >> 1).wrapping_add((i32::from(ALL_PASS_COEFS_Q13[1]) * b) >> 14) as i16;
        tmp32_2 = b.wrapping_sub((i32::from(ALL_PASS_COEFS_Q13[1]) * i32::from(tmp16_2)) >> 12);
        *out = tmp16_1.wrapping_add(tmp16_2);
    }
    filter_state[0] = tmp32_1;
    filter_state[1] = tmp32_2;
}

/// `HighPassFilter`: removes 0–80 Hz from the 500 Hz-rate lowest band.
fn high_pass_filter(data_in: &[i16], state: &mut [i16; 4], data_out: &mut [i16]) {
    for (out, &x) in data_out.iter_mut().zip(data_in) {
        let mut tmp32 = i32::from(HP_ZERO_COEFS[0]) * i32::from(x);
        tmp32 = tmp32.wrapping_add(i32::from(HP_ZERO_COEFS[1]) * i32::from(state[0]));
        tmp32 = tmp32.wrapping_add(i32::from(HP_ZERO_COEFS[2]) * i32::from(state[1]));
        state[1] = state[0];
        state[0] = x;
        tmp32 = tmp32.wrapping_sub(i32::from(HP_POLE_COEFS[1]) * i32::from(state[2]));
        tmp32 = tmp32.wrapping_sub(i32::from(HP_POLE_COEFS[2]) * i32::from(state[3]));
        state[3] = state[2];
        state[2] = (tmp32 >> 14) as i16;
        *out = state[2];
    }
}

/// `AllPassFilter` over every other sample of `data_in` (from its first element).
fn all_pass_filter(data_in: &[i16], coefficient: i16, state: &mut i16, data_out: &mut [i16]) {
    let mut state32 = i32::from(*state) << 16;
    for (out, &x) in data_out.iter_mut().zip(data_in.iter().step_by(2)) {
        let tmp32 = state32.wrapping_add(i32::from(coefficient) * i32::from(x));
        let tmp16 = (tmp32 >> 16) as i16;
        *out = tmp16;
        state32 = i32::from(x) << 14;
        state32 = state32.wrapping_sub(i32::from(coefficient) * i32::from(tmp16));
        state32 <<= 1;
    }
    *state = (state32 >> 16) as i16;
}

/// `SplitFilter`: `data_in` into an upper and a lower half band, each at half the rate.
fn split_filter(
    data_in: &[i16],
    upper_state: &mut i16,
    lower_state: &mut i16,
    hp_out: &mut [i16],
    lp_out: &mut [i16],
) {
    all_pass_filter(data_in, ALL_PASS_COEFS_Q15[0], upper_state, hp_out);
    all_pass_filter(&data_in[1..], ALL_PASS_COEFS_Q15[1], lower_state, lp_out);
    for (hp, lp) in hp_out.iter_mut().zip(lp_out.iter_mut()) {
        let tmp = *hp;
        *hp = hp.wrapping_sub(*lp);
        *lp = lp.wrapping_add(tmp);
    }
}

/// `LogOfEnergy`: 10·log10(energy) of `data_in` in Q4 plus `offset`; bumps `total_energy`
/// while it is at most `MIN_ENERGY`.
fn log_of_energy(data_in: &[i16], offset: i16, total_energy: &mut i16) -> i16 {
    let (en, mut tot_rshifts) = energy(data_in);
    let mut energy = en as u32;
    if energy == 0 {
        return offset;
    }
    let normalizing_rshifts = 17 - i32::from(norm_u32(energy));
    let mut log2_energy = LOG_ENERGY_INT_PART;
    tot_rshifts += normalizing_rshifts;
    if normalizing_rshifts < 0 {
        energy <<= -normalizing_rshifts;
    } else {
        energy >>= normalizing_rshifts;
    }
    log2_energy = log2_energy.wrapping_add(((energy & 0x0000_3FFF) >> 4) as i16);
    let mut log_energy = mul_rsft(LOG_CONST, log2_energy, 19).wrapping_add(mul_rsft(
        tot_rshifts as i16,
        LOG_CONST,
        9,
    )) as i16;
    if log_energy < 0 {
        log_energy = 0;
    }
    log_energy = log_energy.wrapping_add(offset);
    if *total_energy <= MIN_ENERGY {
        if tot_rshifts >= 0 {
            *total_energy = total_energy.wrapping_add(MIN_ENERGY + 1);
        } else {
            *total_energy = total_energy.wrapping_add((energy >> -tot_rshifts) as i16);
        }
    }
    log_energy
}

/// `WebRtcSpl_Energy`: sum of squares, right-shifted enough not to overflow; (energy, shift).
fn energy(vector: &[i16]) -> (i32, i32) {
    let scaling = i32::from(get_scaling_square(vector, vector.len() as u32));
    let mut en: i32 = 0;
    for &x in vector {
        en = en.wrapping_add((i32::from(x) * i32::from(x)) >> scaling);
    }
    (en, scaling)
}

/// `WebRtcSpl_GetScalingSquare(in_vector, len, times = len)`.
fn get_scaling_square(in_vector: &[i16], times: u32) -> i16 {
    let nbits = size_in_bits(times);
    let mut smax: i16 = -1;
    for &x in in_vector {
        let sabs = if x > 0 { x } else { x.wrapping_neg() };
        if sabs > smax {
            smax = sabs;
        }
    }
    let t = norm_w32(i32::from(smax) * i32::from(smax));
    // (C: NormW32 of 0 is 0, hence the separate test for smax == 0.)
    if smax == 0 || t > nbits { 0 } else { nbits - t }
}

/// `WebRtcSpl_DivW32W16`: C integer division; `i32::MAX` for a zero denominator.
fn div_w32_w16(num: i32, den: i16) -> i32 {
    if den != 0 {
        num.wrapping_div(i32::from(den))
    } else {
        i32::MAX
    }
}

/// `WebRtcSpl_GetSizeInBits`.
fn size_in_bits(n: u32) -> i16 {
    (32 - n.leading_zeros()) as i16
}

/// `WebRtcSpl_NormW32`: left shifts that keep `a` within 32 signed bits (0 for 0).
fn norm_w32(a: i32) -> i16 {
    if a == 0 {
        return 0;
    }
    let a = if a < 0 { !a } else { a };
    (a.leading_zeros() as i16) - 1
}

/// `WebRtcSpl_NormU32`: leading zeros (0 for 0).
fn norm_u32(a: u32) -> i16 {
    if a == 0 { 0 } else { a.leading_zeros() as i16 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_helpers_match_the_c_definitions() {
        // WebRtcSpl_NormW32 by its bit tests.
        fn c_norm_w32(mut a: i32) -> i16 {
            if a == 0 {
                return 0;
            } else if a < 0 {
                a = !a;
            }
            let a = a as u32;
            let mut zeros: i16 = if 0xFFFF_8000 & a == 0 { 16 } else { 0 };
            if 0xFF80_0000 & (a << zeros) == 0 {
                zeros += 8;
            }
            if 0xF800_0000 & (a << zeros) == 0 {
                zeros += 4;
            }
            if 0xE000_0000 & (a << zeros) == 0 {
                zeros += 2;
            }
            if 0xC000_0000 & (a << zeros) == 0 {
                zeros += 1;
            }
            zeros
        }
        for a in [
            1,
            -1,
            2,
            -2,
            3,
            1000,
            -1000,
            32767,
            -32768,
            65536,
            i32::MAX,
            i32::MIN,
            5,
            12345678,
        ] {
            assert_eq!(norm_w32(a), c_norm_w32(a), "NormW32({a})");
        }
        assert_eq!(norm_u32(1), 31);
        assert_eq!(norm_u32(u32::MAX), 0);
        assert_eq!(size_in_bits(240), 8);
        assert_eq!(size_in_bits(15), 4);
        assert_eq!(size_in_bits(0), 0);
    }

    #[test]
    fn silence_is_not_speech_and_a_loud_vowel_is() {
        let mut vad = Vad::new(Mode::VeryAggressive);
        let silence = [0i16; FRAME_16KHZ];
        for _ in 0..20 {
            assert!(!vad.is_speech(&silence));
        }
        // A 150 Hz buzz with harmonics, like a voiced vowel.
        let mut decisions = Vec::new();
        for f in 0..30 {
            let mut frame = [0i16; FRAME_16KHZ];
            for (i, s) in frame.iter_mut().enumerate() {
                let t = (f * FRAME_16KHZ + i) as f64 / 16_000.0;
                let v: f64 = (1..=20)
                    .map(|h| (2.0 * std::f64::consts::PI * 150.0 * h as f64 * t).sin() / h as f64)
                    .sum();
                *s = (v * 6000.0) as i16;
            }
            decisions.push(vad.is_speech(&frame));
        }
        assert!(
            decisions.iter().filter(|d| **d).count() >= 25,
            "{decisions:?}"
        );
    }
}
